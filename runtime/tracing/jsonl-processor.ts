// Span processor that appends each finished span as one redacted JSON line to a file.
// Lines are buffered and written synchronously on a short timer, on flush, on shutdown and on
// process exit, so a normal exit (or process.exit()) never loses spans; SIGKILL loses at most one
// timer period.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { toSpanRecord, type SpanResourceInfo } from './span-record.ts';

export interface JsonlSpanProcessorOptions {
  file: string;
  /** Resource fields written on every line (computed once instead of per span). */
  resource?: SpanResourceInfo;
  /** Write period in ms (default 200). */
  flushIntervalMs?: number;
  /** Buffer size (lines) that forces a write before the timer fires (default 512). */
  maxBufferedLines?: number;
}

export class JsonlSpanProcessor implements SpanProcessor {
  readonly file: string;
  private fd: number | undefined;
  private lines: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly resource?: SpanResourceInfo;
  private readonly maxLines: number;
  private readonly onExit = () => this.writeBuffered();

  constructor(opts: JsonlSpanProcessorOptions) {
    this.file = opts.file;
    this.resource = opts.resource;
    this.maxLines = opts.maxBufferedLines ?? 512;
    mkdirSync(dirname(opts.file), { recursive: true });
    this.fd = openSync(opts.file, 'a');
    this.timer = setInterval(() => this.writeBuffered(), opts.flushIntervalMs ?? 200);
    this.timer.unref();
    process.on('exit', this.onExit);
  }

  onStart(_span: Span, _ctx: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.closed) return;
    this.lines.push(JSON.stringify(toSpanRecord(span, this.resource)));
    if (this.lines.length >= this.maxLines) this.writeBuffered();
  }

  private writeBuffered(): void {
    if (this.fd === undefined || this.lines.length === 0) return;
    const chunk = this.lines.join('\n') + '\n';
    this.lines = [];
    writeSync(this.fd, chunk);
  }

  async forceFlush(): Promise<void> {
    this.writeBuffered();
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.writeBuffered();
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    process.off('exit', this.onExit);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
