/**
 * The fleet secret's one rule, shared by the setting that reads it (MODELFLEET_FLEET_SECRET)
 * and the trust that signs with it: a shorter secret could be guessed from signed tokens.
 */
export const MIN_FLEET_SECRET_LENGTH = 32;
