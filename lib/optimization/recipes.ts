/**
 * The registry of optimization recipes, keyed by kind. A recipe module exports one
 * OptimizationRecipe and is listed here; kinds without a module yet answer "not available".
 */
import { InvalidInputError } from "../errors";
import { convertRecipe } from "./convert-recipe";
import { fp16Recipe } from "./fp16-recipe";
import { graphRecipe } from "./graph-recipe";
import { int8DynamicRecipe } from "./int8-dynamic-recipe";
import { int8StaticRecipe } from "./int8-static-recipe";
import { pruneRecipe } from "./prune-recipe";
import { RECIPE_KINDS, type OptimizationRecipe, type RecipeKind } from "./recipe";

export const RECIPES: Readonly<Partial<Record<RecipeKind, OptimizationRecipe>>> = {
	graph: graphRecipe as OptimizationRecipe,
	fp16: fp16Recipe as OptimizationRecipe,
	"int8-dynamic": int8DynamicRecipe as OptimizationRecipe,
	"int8-static": int8StaticRecipe as OptimizationRecipe,
	prune: pruneRecipe as OptimizationRecipe,
	convert: convertRecipe as OptimizationRecipe,
};

/** The recipe of that kind; InvalidInputError for an unknown kind or one this build lacks. */
export function recipeFor(kind: unknown): OptimizationRecipe {
	if (typeof kind !== "string" || !(RECIPE_KINDS as readonly string[]).includes(kind))
		throw new InvalidInputError(
			`recipe must be one of ${RECIPE_KINDS.join(", ")}; got ${JSON.stringify(kind)}`,
			{ field: "recipe" },
		);
	const recipe = RECIPES[kind as RecipeKind];
	if (recipe === undefined)
		throw new InvalidInputError(`recipe '${kind}' is not available on this fleet`, {
			field: "recipe",
		});
	return recipe;
}
