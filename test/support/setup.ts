// Tests build their node configuration explicitly; nothing leaks in from the shell that runs them.
process.env.LOG_LEVEL ??= "warn";
