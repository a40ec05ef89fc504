/** The web console's entry: renders the app into the page (docs/console.md). */
import { render } from "preact";
import { App } from "./app";
import "./styles.css";

render(<App />, document.getElementById("app")!);
