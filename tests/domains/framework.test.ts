// The domain framework: pydantic-style models and schemas, tool binding and error texts, tool
// output serialisation, set_state replay. Unit fakes are limited to tiny toolkits defined here.
import { describe, expect, it } from 'vitest';
import { Db } from '../../domains/core/db.ts';
import { Environment, pairToolCalls } from '../../domains/core/environment.ts';
import { PyFloat, dumps, parse } from '../../domains/pycompat/pyjson.ts';
import { ValidationError, construct, field, fieldTitle, jsonSchema, model, optField, t } from '../../domains/core/schema.ts';
import { Toolkit, asModel, fail, openAiSchema, toolOutputText, type ToolkitSpec } from '../../domains/core/tool.ts';

const Payment = model('Payment', [field('payment_id', t.str(), 'Unique identifier for the payment'), field('amount', t.int())]);
const Cert = model('Certificate', [field('id', t.str()), field('amount', t.float())]);

describe('models (pydantic semantics)', () => {
  it('coerces on construction only where pydantic would', () => {
    expect(dumps(construct(Payment, { payment_id: 'p', amount: new PyFloat(100) }))).toBe('{"payment_id": "p", "amount": 100}');
    expect(dumps(construct(Payment, { payment_id: 'p', amount: '7' }))).toBe('{"payment_id": "p", "amount": 7}');
    expect(dumps(construct(Cert, { id: 'c', amount: 100 }))).toBe('{"id": "c", "amount": 100.0}');
  });

  it('fills defaults (nulls included), keeps field order, ignores unknown keys', () => {
    const M = model('M', [field('a', t.str()), optField('b', t.optional(t.str()), null), field('c', t.int())]);
    expect(dumps(construct(M, { c: 1, z: 9, a: 'x' }))).toBe('{"a": "x", "b": null, "c": 1}');
  });

  it("raises pydantic's ValidationError text", () => {
    let err: unknown;
    try {
      construct(Payment, { amount: new PyFloat(1.5) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toBe(
      '2 validation errors for Payment\n' +
        'payment_id\n' +
        "  Field required [type=missing, input_value={'amount': 1.5}, input_type=dict]\n" +
        '    For further information visit https://errors.pydantic.dev/2.12/v/missing\n' +
        'amount\n' +
        '  Input should be a valid integer, got a number with a fractional part [type=int_from_float, input_value=1.5, input_type=float]\n' +
        '    For further information visit https://errors.pydantic.dev/2.12/v/int_from_float',
    );
  });

  it('rejects extra keys on extra="forbid" roots', () => {
    const Root = model('R', [field('a', t.int())], { extra: 'forbid' });
    expect(() => construct(Root, { a: 1, b: 2 })).toThrow(/b\n {2}Extra inputs are not permitted \[type=extra_forbidden/);
  });

  it('generates JSON schemas in pydantic layout ($defs, sorted keys, titles)', () => {
    expect(fieldTitle('nonfree_baggages')).toBe('Nonfree Baggages');
    expect(fieldTitle('address1')).toBe('Address1');
    const schema = jsonSchema('parameters', [
      field('payments', t.list(t.union(t.model(Payment), t.rawdict())), 'Payments.'),
      field('kind', t.literal('a', 'b')),
      optField('note', t.str(), null, 'Optional.'),
    ]);
    expect(JSON.stringify(schema)).toBe(
      JSON.stringify({
        $defs: {
          Payment: {
            properties: {
              payment_id: { description: 'Unique identifier for the payment', title: 'Payment Id', type: 'string' },
              amount: { title: 'Amount', type: 'integer' },
            },
            required: ['payment_id', 'amount'],
            title: 'Payment',
            type: 'object',
          },
        },
        properties: {
          payments: {
            description: 'Payments.',
            items: { anyOf: [{ $ref: '#/$defs/Payment' }, { additionalProperties: true, type: 'object' }] },
            title: 'Payments',
            type: 'array',
          },
          kind: { enum: ['a', 'b'], title: 'Kind', type: 'string' },
          note: { default: null, description: 'Optional.', title: 'Note', type: 'string' },
        },
        required: ['payments', 'kind'],
        title: 'parameters',
        type: 'object',
      }),
    );
  });
});

const PY_HASH = '9750178a209dc45ee6da35d5e30b5f89a2c98bc7dc3666c30716834483fc51d9';

describe('Db', () => {
  it('hashes sorted-key Python JSON, distinguishing 1 from 1.0', () => {
    const M = model('M', [field('v', t.any())]);
    const a = new Db(M, { v: 1 });
    const b = new Db(M, { v: new PyFloat(1) });
    const c = new Db(M, { v: 1 });
    expect(a.hash()).not.toBe(b.hash());
    expect(a.hash()).toBe(c.hash());
    expect(new Db(M, { v: '1' }).hash()).not.toBe(a.hash());
    expect(new Db(M, { v: true }).hash()).not.toBe(a.hash());
    expect(new Db(M, { v: { x: 1, y: [new PyFloat(0.5)] } }).hash()).toBe(new Db(M, { v: { y: [0.5], x: 1 } }).hash()); // key order ignored
  });

  it('pythonHash is sha256 of Python json.dumps(sort_keys=True)', () => {
    // hashlib.sha256(json.dumps({"v": {"b": 1.0, "a": [1, None]}}, sort_keys=True).encode()).hexdigest()
    const M = model('M', [field('v', t.any())]);
    expect(new Db(M, { v: { b: new PyFloat(1), a: [1, null] } }).pythonHash()).toBe(PY_HASH);
  });

  it('update() deep-merges dicts, replaces lists, re-validates', () => {
    const Inner = model('I', [field('x', t.int()), field('tags', t.list(t.str()))]);
    const Root = model('R', [field('items', t.dict(t.model(Inner)))], { extra: 'forbid' });
    const db = Db.fromData(Root, { items: { a: { x: 1, tags: ['p', 'q'] } } });
    db.update({ items: { a: { tags: ['z'] }, b: { x: new PyFloat(2), tags: [] } } });
    expect(dumps(db.dump())).toBe('{"items": {"a": {"x": 1, "tags": ["z"]}, "b": {"x": 2, "tags": []}}}');
    expect(() => db.update({ nope: 1 })).toThrow(/Extra inputs are not permitted/);
  });
});

// A tiny toolkit exercising every output shape and failure path.
interface Counter {
  n: number;
}
const CounterModel = model('CounterDB', [field('n', t.int())], { extra: 'forbid' });
const counterSpec: ToolkitSpec<Counter> = {
  className: 'CounterTools',
  tools: [
    {
      name: 'bump',
      type: 'write',
      short: 'Bump.',
      params: [field('by', t.int()), optField('note', t.str(), null)],
      run(db, a) {
        if (typeof a.by !== 'number') fail(`bad step ${String(a.by)}`);
        db.n += a.by as number;
        return db.n; // a bare int: τ² returns it as a quoted string
      },
    },
    { name: 'peek', type: 'read', short: 'Peek.', params: [], run: (db) => ({ n: db.n, ok: true, m: asModel({ n: db.n }) }) },
    { name: 'same', type: 'write', short: 'Same.', params: [], run: () => 'fixed' },
  ],
  functions: [{ name: 'assert_n', params: [field('n', t.int())], run: (db, a) => db.n === a.n }],
};
const counterEnv = () => new Environment({ domainName: 'counter', policy: 'p', tools: new Toolkit(counterSpec, new Db(CounterModel, { n: 0 })) });

describe('Environment.getResponse', () => {
  it('serialises outputs like to_json_str: bare scalars and scalars inside plain dicts become strings; models stay typed', () => {
    const env = counterEnv();
    expect(env.getResponse({ id: '1', name: 'bump', arguments: { by: 2 } }).content).toBe('"2"');
    expect(env.getResponse({ id: '2', name: 'peek', arguments: {} }).content).toBe('{"n": "2", "ok": "True", "m": {"n": 2}}');
    expect(toolOutputText('plain')).toBe('plain');
    expect(toolOutputText([1, new PyFloat(2)])).toBe('["1", "2.0"]');
  });

  it('never throws: Python TypeErrors, unknown tools and raised errors become Error: messages', () => {
    const env = counterEnv();
    const r = (name: string, args: Record<string, unknown>) => env.getResponse({ id: 'x', name, arguments: args });
    expect(r('bump', {})).toMatchObject({ error: true, content: "Error: CounterTools.bump() missing 1 required positional argument: 'by'" });
    expect(r('bump', { by: 1, extra: 2, more: 3 }).content).toBe("Error: CounterTools.bump() got an unexpected keyword argument 'extra'");
    expect(r('nope', {}).content).toBe("Error: Tool 'nope' not found.");
    expect(r('bump', { by: 'x' })).toMatchObject({ role: 'tool', id: 'x', requestor: 'assistant', error: true, content: 'Error: bad step x' });
  });

  it('lists several missing arguments the way CPython does', () => {
    const spec: ToolkitSpec<Counter> = {
      className: 'T',
      tools: [{ name: 'f', type: 'read', short: 'f', params: [field('a', t.str()), field('b', t.str()), field('c', t.str())], run: () => '' }],
    };
    const env = new Environment({ domainName: 'd', policy: '', tools: new Toolkit(spec, new Db(CounterModel, { n: 0 })) });
    expect(env.getResponse({ id: '1', name: 'f', arguments: { b: '' } }).content).toBe("Error: T.f() missing 2 required positional arguments: 'a' and 'c'");
    expect(env.getResponse({ id: '1', name: 'f', arguments: {} }).content).toBe("Error: T.f() missing 3 required positional arguments: 'a', 'b', and 'c'");
  });

  it('produces OpenAI schemas from the same definition', () => {
    const s = openAiSchema(counterSpec.tools[0]);
    expect(s.function.name).toBe('bump');
    expect(s.function.parameters).toMatchObject({ required: ['by'], properties: { by: { type: 'integer' }, note: { default: null } } });
  });
});

describe('Environment.setState', () => {
  const history = [
    { role: 'user', content: 'hi' },
    { role: 'assistant', tool_calls: [{ id: 'a', name: 'bump', arguments: { by: 3 } }, { id: 'b', name: 'peek', arguments: {} }] },
    { role: 'tool', id: 'a', content: '"3"' },
    { role: 'tool', id: 'b', content: 'whatever' },
    { role: 'assistant', tool_calls: [{ id: 'c', name: 'hallucinated', arguments: {} }] },
    { role: 'tool', id: 'c', content: 'Error: ...' },
  ];

  it('replays only WRITE calls, skips unknown tools, then runs init actions first', () => {
    const env = counterEnv();
    const mismatches = env.setState(null, [{ env_type: 'assistant', func_name: 'bump', arguments: { by: 10 } }], history, { strict: false });
    expect(env.tools!.db.data.n).toBe(13);
    expect(mismatches.map((m) => m.call.id)).toEqual(['a']); // recorded "3" but the replay gives "13"
  });

  it('strict replay throws on a differing output; matching outputs pass', () => {
    expect(() => counterEnv().setState(null, [{ env_type: 'assistant', func_name: 'bump', arguments: { by: 1 } }], history)).toThrow(/Tool call/);
    expect(counterEnv().setState(null, null, history)).toEqual([]);
  });

  it('pairs calls with tool messages by id and rejects broken histories', () => {
    expect(pairToolCalls(history).map(([c]) => c.id)).toEqual(['a', 'b', 'c']);
    expect(() => pairToolCalls([{ role: 'tool', id: 'a', content: '' }])).toThrow(/Tool message not expected/);
    expect(() => pairToolCalls([{ role: 'assistant', tool_calls: [{ id: 'a', name: 'x', arguments: {} }] }, { role: 'tool', id: 'b' }])).toThrow(/id mismatch/);
  });

  it('runs env assertions and env functions', () => {
    const env = counterEnv();
    env.runEnvFunction({ env_type: 'assistant', func_name: 'bump', arguments: { by: 4 } });
    expect(env.runEnvAssertion({ env_type: 'assistant', func_name: 'assert_n', arguments: { n: 4 } })).toBe(true);
    expect(env.runEnvAssertion({ env_type: 'assistant', func_name: 'assert_n', arguments: { n: 4 }, assert_value: false })).toBe(false);
    expect(() => env.runEnvFunction({ env_type: 'assistant', func_name: 'nope', arguments: {} })).toThrow("'CounterTools' object has no attribute 'nope'");
  });

  it('parses recorded tool outputs with Python number types when comparing', () => {
    expect(parse('{"amount": 1.0}')).toEqual({ amount: new PyFloat(1) });
  });
});
