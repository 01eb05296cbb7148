// src/image: every image fawkes knows of, local golden images and pinned AMIs, by the recipe hash they carry.
export { imageInventory, type CurrentRecipe, type ImageInventory, type LocalImage, type PinnedAmi } from "./inventory.ts";
