#!/usr/bin/env bash
# Cross-check (needs python3): every retail product/user/order and airline user/reservation as
# returned by the read tools must be byte-identical to Python's json.dumps of the same object from
# db.json, normalised to the pydantic field order (nulls for absent optional fields).
# Run: TAU2_DATA_DIR=/work/shared/tau2/data bash bench/domains/crosscheck-read-tools.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp)
npx tsx -e "
import { getDomain } from './domains/registry.ts';
import { writeFileSync } from 'node:fs';
const out: Record<string, string> = {};
const get = (env: any, name: string, args: object) => env.getResponse({ id: '1', name, arguments: args }).content;
const r = getDomain('retail').createEnvironment(); const d: any = r.tools!.db.data;
for (const k of Object.keys(d.products)) out['P' + k] = get(r, 'get_product_details', { product_id: k });
for (const k of Object.keys(d.users)) out['U' + k] = get(r, 'get_user_details', { user_id: k });
for (const k of Object.keys(d.orders)) out['O' + k] = get(r, 'get_order_details', { order_id: k });
const a = getDomain('airline').createEnvironment(); const ad: any = a.tools!.db.data;
for (const k of Object.keys(ad.users)) out['u' + k] = get(a, 'get_user_details', { user_id: k });
for (const k of Object.keys(ad.reservations)) out['r' + k] = get(a, 'get_reservation_details', { reservation_id: k });
writeFileSync('$out', JSON.stringify(out));
"
python3 - "$out" <<'PY'
import json, os, sys
out = json.load(open(sys.argv[1]))
root = os.path.join(os.environ['TAU2_DATA_DIR'], 'tau2', 'domains')
R = json.load(open(os.path.join(root, 'retail', 'db.json')))
A = json.load(open(os.path.join(root, 'airline', 'db.json')))
pick = lambda o, keys: {k: o.get(k) for k in keys}
ORDER = ['order_id', 'user_id', 'address', 'items', 'status', 'fulfillments', 'payment_history', 'cancel_reason', 'exchange_items',
         'exchange_new_items', 'exchange_payment_method_id', 'exchange_price_difference', 'return_items', 'return_payment_method_id']
RES = ['reservation_id', 'user_id', 'origin', 'destination', 'flight_type', 'cabin', 'flights', 'passengers', 'payment_history',
       'created_at', 'total_baggages', 'nonfree_baggages', 'insurance', 'status']
def res(r):
    r = dict(r); r['flights'] = [pick(f, ['flight_number', 'origin', 'destination', 'date', 'price']) for f in r['flights']]; return pick(r, RES)
def auser(u):
    u = dict(u); u['address'] = pick(u['address'], ['address1', 'address2', 'city', 'country', 'state', 'zip']); return u
cases = [('P' + k, v) for k, v in R['products'].items()] + [('U' + k, v) for k, v in R['users'].items()] + \
        [('O' + k, pick(v, ORDER)) for k, v in R['orders'].items()] + [('u' + k, auser(v)) for k, v in A['users'].items()] + \
        [('r' + k, res(v)) for k, v in A['reservations'].items()]
bad = [k for k, v in cases if out[k] != json.dumps(v)]
print(f'compared {len(cases)} read-tool outputs with Python json.dumps: {len(bad)} differ', bad[:5])
sys.exit(1 if bad else 0)
PY
rm -f "$out"
