// JSON Schema (as OpenAI tools and response_format carry it) → node-llama-cpp's GbnfJsonSchema,
// the subset its grammar generator understands. Anything the grammar cannot express is widened,
// never narrowed: a value valid for the original schema stays producible whenever we can manage it,
// and every value the grammar produces has the right JSON shape.
//
// Optional object properties: node-llama-cpp's generator emits every listed property, so an object
// with optional ones becomes a oneOf over which of them are present (schema order kept). Forcing them
// made a model invent values the caller never meant (the study's `create_task` calls all carried a
// made-up `description`, and failed their DB match for it). Up to MAX_OPTIONAL optional properties
// are enumerated (2^k alternatives); beyond that they are all emitted, the old widening.
//
// Known widenings: numeric bounds, string patterns and formats other than the ones GBNF supports
// are dropped; objects with more than MAX_OPTIONAL optional properties emit all of them; `allOf` uses
// its first member.
import type { GbnfJsonSchema } from 'node-llama-cpp';

type Json = Record<string, unknown>;

const anyValue: GbnfJsonSchema = {
  oneOf: [{ type: ['string', 'number', 'boolean', 'null'] }, { type: 'array' } as GbnfJsonSchema, { type: 'object', additionalProperties: true } as GbnfJsonSchema],
};

/** Most optional properties of one object enumerated as alternatives (2^k of them). */
export const MAX_OPTIONAL = 4;

const primitive = new Set(['string', 'number', 'integer', 'boolean', 'null']);
const supportedFormats = new Set(['date-time', 'time', 'date']);

export function toGbnfJsonSchema(schema: unknown, root: Json = (schema ?? {}) as Json, depth = 0): GbnfJsonSchema {
  if (depth > 32) throw new Error('JSON schema nests deeper than 32 levels (recursive $ref?)');
  if (schema === true || schema == null) return anyValue;
  if (schema === false || typeof schema !== 'object') throw new Error('schema "false" (or a non-object) cannot be generated');
  const s = schema as Json;
  const next = (sub: unknown) => toGbnfJsonSchema(sub, root, depth + 1);

  if (typeof s.$ref === 'string') return next(resolveRef(s.$ref, root));
  if ('const' in s) return { const: s.const as string | number | boolean | null };
  if (Array.isArray(s.enum)) return { enum: s.enum as (string | number | boolean | null)[] };
  const alternatives = (s.oneOf ?? s.anyOf) as unknown[] | undefined;
  if (Array.isArray(alternatives) && alternatives.length) return { oneOf: alternatives.map(next) };
  if (Array.isArray(s.allOf) && s.allOf.length) return next({ ...s, allOf: undefined, ...(s.allOf[0] as Json) });

  let type = s.type as string | string[] | undefined;
  if (type === undefined) {
    if (s.properties || s.additionalProperties) type = 'object';
    else if (s.items || s.prefixItems) type = 'array';
    else return anyValue;
  }
  if (Array.isArray(type)) {
    if (type.every((t) => primitive.has(t) && t !== 'string')) return { type: type as ('number' | 'integer' | 'boolean' | 'null')[] };
    return { oneOf: type.map((t) => next({ ...s, type: t })) };
  }
  switch (type) {
    case 'string': {
      const out: Record<string, unknown> = { type: 'string' };
      if (typeof s.format === 'string' && supportedFormats.has(s.format)) out.format = s.format;
      else {
        if (typeof s.minLength === 'number') out.minLength = s.minLength;
        if (typeof s.maxLength === 'number') out.maxLength = s.maxLength;
      }
      return out as GbnfJsonSchema;
    }
    case 'number':
    case 'integer':
    case 'boolean':
    case 'null':
      return { type };
    case 'array': {
      const out: Record<string, unknown> = { type: 'array', items: s.items === undefined ? anyValue : next(s.items) };
      if (Array.isArray(s.prefixItems)) out.prefixItems = s.prefixItems.map(next);
      if (typeof s.minItems === 'number') out.minItems = s.minItems;
      if (typeof s.maxItems === 'number') out.maxItems = s.maxItems;
      return out as GbnfJsonSchema;
    }
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, unknown>;
      const properties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, next(v)]));
      const extra = s.additionalProperties;
      // With no declared properties, an object is free-form; with some, extras are left out.
      const keys = Object.keys(properties);
      if (keys.length === 0) {
        const additionalProperties = extra === false ? false : extra && typeof extra === 'object' ? next(extra) : true;
        return { type: 'object', properties, additionalProperties } as GbnfJsonSchema;
      }
      // JSON Schema: a property not named in `required` (or no `required` at all) may be left out.
      const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
      const optional = keys.filter((k) => !required.has(k));
      const only = (present: Set<string>) => ({ type: 'object', properties: Object.fromEntries(keys.filter((k) => present.has(k)).map((k) => [k, properties[k]])), additionalProperties: false });
      if (optional.length === 0 || optional.length > MAX_OPTIONAL) return only(new Set(keys)) as GbnfJsonSchema;
      const alternatives = [];
      for (let mask = 0; mask < 1 << optional.length; mask++) {
        alternatives.push(only(new Set([...required, ...optional.filter((_, i) => mask & (1 << i))])));
      }
      return { oneOf: alternatives } as GbnfJsonSchema;
    }
    default:
      throw new Error(`unsupported JSON schema type "${String(type)}"`);
  }
}

function resolveRef(ref: string, root: Json): unknown {
  const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  const defs = m ? (root[m[1]] as Json | undefined) : undefined;
  const target = m && defs ? defs[decodeURIComponent(m[2])] : undefined;
  if (target === undefined) throw new Error(`cannot resolve $ref "${ref}" (only local #/$defs/… and #/definitions/… refs are supported)`);
  return target;
}
