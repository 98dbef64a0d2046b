import { loadEngine } from '/work/wt-sandbox/runtime/sandbox/quickjs-engine.mjs';
const e = loadEngine();
const job = (source) => ({ source, inputJson: '{"initialState":1,"finalState":1,"trajectory":[]}', timeoutMs: 1000, memoryBytes: 64 << 20, stackBytes: 256 << 10, maxReasons: 100, maxReasonChars: 4000, maxOutputBytes: 65536 });
for (const src of [
  `function check(){ const a = []; for(let i=0;i<100;i++) a.push(new ArrayBuffer(1<<20)); return {pass:true,reasons:[String(a.length)]} }`,
  `function check(){ const a = []; for(;;) a.push(new ArrayBuffer(1<<20)) }`,
]) { const t = performance.now(); try { console.log(await e.run(job(src)), performance.now() - t); } catch (x) { console.log('THROW', x, performance.now() - t); } }
