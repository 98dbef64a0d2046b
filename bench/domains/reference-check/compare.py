# Compare the Troupe domains with τ²'s Python code: both sides write {key: text} for the OpenAI tool
# schemas, every gold action's tool message of the base split, the final agent DB
# (json.dumps(sort_keys=True)) and the probes in probes.json (bad arguments, quirks); keys must match.
import json, sys
R = json.load(open(sys.argv[1])); T = json.load(open(sys.argv[2]))
# Tools that newer τ² versions added are reported, not counted (the PyPI build predates them).
bad = 0
for k, v in R.items():
    if k not in T:
        print('only in reference:', k); continue
    if k.endswith('schemas'):
        rd = {s['function']['name']: s for s in json.loads(v)}
        for s in json.loads(T[k]):
            n = s['function']['name']
            if n not in rd: print('tool not in the reference build:', n); continue
            if json.dumps(rd[n]) != json.dumps(s): bad += 1; print('schema differs:', k, n)
        continue
    if v != T[k]:
        rm, tm = json.loads(v), json.loads(T[k])
        if k.endswith(':msgs') and all(a == b or "Tool 'get_item_details' not found" in str(a) for a, b in zip(rm, tm)):
            print('differs only by get_item_details (absent in the reference build):', k); continue
        bad += 1; print('differs:', k, '\n  reference:', v[:300], '\n  troupe:   ', T[k][:300])
print(f'{len(R)} keys compared, {bad} differ')
sys.exit(1 if bad else 0)
