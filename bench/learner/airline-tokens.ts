// bench/learner/airline-tokens: the token shape of an SFT file as `troupe train sft` sees it — per
// example its length and trained tokens, and the leading untrained tokens all examples share (the
// prefix shared-prefix training runs once). For the airline end-to-end run (bench/README.md).
//   npx tsx bench/learner/airline-tokens.ts [bench/results/airline/sft/sft.jsonl]
import { loadChatTokenizer } from '../../nn/model/tokenizer.ts';
import { loadSftJsonl, toExamples } from '../../nn/train/sft-data.ts';
import { parseTrainConfig } from '../../actors/learner/config.ts';

const path = process.argv[2] ?? 'bench/results/airline/sft/sft.jsonl';
const cfg = parseTrainConfig('', 'defaults');
const tok = await loadChatTokenizer(cfg.model.gguf);
const { examples } = toExamples(loadSftJsonl(path), tok, 'sft', cfg.train.maxSeqLen);
await tok.dispose();
const lead = (e: { mask: number[] }) => e.mask.indexOf(1);
let shared = Math.min(...examples.map(lead));
for (let i = 0; i < shared; i++) if (examples.some((e) => e.tokens[i] !== examples[0].tokens[i])) { shared = i; break; }
const rows = examples.map((e, i) => ({ example: i + 1, tokens: e.tokens.length, trained: e.mask.reduce((a, b) => a + b, 0), firstTrained: lead(e) }));
console.table(rows);
const total = rows.reduce((s, r) => s + r.tokens, 0);
console.log(JSON.stringify({ examples: rows.length, totalTokens: total, trainedTokens: rows.reduce((s, r) => s + r.trained, 0), sharedPrefix: shared, tokensWithPrefixOnce: total - (rows.length - 1) * shared }));
