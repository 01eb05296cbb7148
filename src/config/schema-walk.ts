import type { z } from "zod";

type AnySchema = z.ZodType;

interface Def {
  type: string;
  innerType?: AnySchema;
  in?: AnySchema;
  out?: AnySchema;
  element?: AnySchema;
  valueType?: AnySchema;
  shape?: Record<string, AnySchema>;
}

function unwrap(s: AnySchema): AnySchema {
  let cur = s;
  for (let i = 0; i < 20; i++) {
    const def = (cur as unknown as { def: Def }).def;
    if (def.innerType) cur = def.innerType;
    // A preprocess is a pipe from a transform into the schema that validates: walk the latter.
    else if (def.type === "pipe" && def.in) cur = (def.in as unknown as { def: Def }).def.type === "transform" && def.out ? def.out : def.in;
    else return cur;
  }
  return cur;
}

/** The keys an object schema accepts at `path`, for "did you mean" hints. */
export function knownKeysAt(schema: AnySchema, path: readonly PropertyKey[]): string[] {
  let cur = unwrap(schema);
  for (const seg of path) {
    const def = (cur as unknown as { def: Def }).def;
    if (def.type === "object" && def.shape && typeof seg === "string" && def.shape[seg]) cur = unwrap(def.shape[seg]);
    else if (def.type === "array" && def.element) cur = unwrap(def.element);
    else if (def.type === "record" && def.valueType) cur = unwrap(def.valueType);
    else return [];
  }
  const def = (cur as unknown as { def: Def }).def;
  return def.type === "object" && def.shape ? Object.keys(def.shape) : [];
}
