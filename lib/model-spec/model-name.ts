/** Model names are used in URLs and in `name@alias`: letters, digits, `.`, `_`, `-`. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
