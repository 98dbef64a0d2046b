// One call per process sets up OpenTelemetry for Troupe: a tracer provider with AsyncLocalStorage
// context, the W3C trace-context propagator, a JSONL span file under the run directory, and OTLP/HTTP
// export when an endpoint is configured.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { JsonlSpanProcessor } from './jsonl-processor.ts';
import { RedactingSpanExporter } from './redacting-exporter.ts';
import { ResourceAttr, type SpanResourceInfo } from './span-record.ts';

export const TRACER_NAME = 'troupe';

export interface TracingOptions {
  /** Process / service name, e.g. "troupe-worker" or "critic". */
  serviceName: string;
  /** Role this process hosts (recorded on every span's resource). */
  role?: string;
  /** Instance id of the hosted role (defaults to `<host>-<pid>`). */
  instanceId?: string;
  /** Run directory: spans go to `<runDir>/spans/<service>-<pid>.jsonl`. Default: `TROUPE_RUN_DIR`; none = no file. */
  runDir?: string;
  /** Explicit span file path (overrides runDir). */
  spanFile?: string;
  /** OTLP/HTTP endpoint, base (`http://localhost:4318`) or full (`.../v1/traces`). Default: `TROUPE_OTLP_ENDPOINT`, then `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  otlpEndpoint?: string;
  /** Extra HTTP headers for the OTLP exporter (e.g. a Tempo tenant); never written to spans. */
  otlpHeaders?: Record<string, string>;
  /** OTLP request timeout in ms (default 10000). */
  otlpTimeoutMs?: number;
  /** JSONL write period in ms (default 200). */
  flushIntervalMs?: number;
}

export interface TracingHandle {
  readonly serviceName: string;
  readonly tracer: Tracer;
  /** The JSONL file this process writes, if any. */
  readonly spanFile?: string;
  /** The OTLP traces URL in use, if any. */
  readonly otlpUrl?: string;
  /** Write every finished span now (JSONL) and push pending OTLP batches. */
  flush(): Promise<void>;
  /** Flush and uninstall; later spans are no-ops until initTracing is called again. */
  shutdown(): Promise<void>;
}

let current: TracingHandle | undefined;

/** The handle of this process's tracing, if initTracing was called. */
export function currentTracing(): TracingHandle | undefined {
  return current;
}

/** `http://h:4318` → `http://h:4318/v1/traces`; a URL already ending in /v1/traces is kept. */
export function otlpTracesUrl(endpoint: string): string {
  const trimmed = endpoint.trim().replace(/\/+$/, '');
  if (!/^https?:\/\//.test(trimmed)) {
    throw new Error(`OTLP endpoint must be an http(s) URL (got "${endpoint}"), e.g. http://localhost:4318`);
  }
  return trimmed.endsWith('/v1/traces') ? trimmed : `${trimmed}/v1/traces`;
}

function safeFilePart(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'service';
}

/** Span file for one process of a run: `<runDir>/spans/<service>-<pid>.jsonl`. */
export function spanFilePath(runDir: string, serviceName: string, pid = process.pid): string {
  return join(runDir, 'spans', `${safeFilePart(serviceName)}-${pid}.jsonl`);
}

/**
 * Install tracing for this process. Calling it again while installed returns the existing handle
 * (one provider per process: the global OTel API has one slot).
 */
export function initTracing(opts: TracingOptions): TracingHandle {
  if (current) return current;
  const host = hostname();
  const resource: SpanResourceInfo = {
    service: opts.serviceName,
    role: opts.role,
    instance: opts.instanceId ?? `${host}-${process.pid}`,
    pid: process.pid,
    host,
  };
  const resAttrs: Record<string, string | number> = {
    [ResourceAttr.service]: resource.service,
    [ResourceAttr.instance]: resource.instance!,
    [ResourceAttr.pid]: process.pid,
    [ResourceAttr.host]: host,
  };
  if (resource.role) resAttrs[ResourceAttr.role] = resource.role;

  const processors: SpanProcessor[] = [];
  const runDir = opts.runDir ?? process.env.TROUPE_RUN_DIR;
  const file = opts.spanFile ?? (runDir ? spanFilePath(runDir, opts.serviceName) : undefined);
  let jsonl: JsonlSpanProcessor | undefined;
  if (file) {
    try {
      jsonl = new JsonlSpanProcessor({ file, resource, flushIntervalMs: opts.flushIntervalMs });
    } catch (err) {
      throw new Error(`tracing: cannot open span file ${file}: ${(err as Error).message}`);
    }
    processors.push(jsonl);
  }
  const endpoint = opts.otlpEndpoint ?? process.env.TROUPE_OTLP_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const otlpUrl = endpoint ? otlpTracesUrl(endpoint) : undefined;
  let otlp: BatchSpanProcessor | undefined;
  if (otlpUrl) {
    const exporter = new OTLPTraceExporter({ url: otlpUrl, headers: opts.otlpHeaders, timeoutMillis: opts.otlpTimeoutMs ?? 10_000 });
    otlp = new BatchSpanProcessor(new RedactingSpanExporter(exporter, `OTLP export to ${otlpUrl}`), { scheduledDelayMillis: 1000 });
    processors.push(otlp);
  }

  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes(resAttrs),
    // Structurally identical SpanProcessor types from two copies of sdk-trace-base.
    spanProcessors: processors as never,
  });
  provider.register(); // AsyncLocalStorage context manager + W3C trace-context/baggage propagator

  const tracer = trace.getTracer(TRACER_NAME);
  // A collector that is down must not fail flush/shutdown: its failures are reported (rate-limited)
  // by RedactingSpanExporter. A span file that cannot be written does fail them.
  const flushAll = async () => {
    await jsonl?.forceFlush();
    await otlp?.forceFlush().catch(() => {});
  };
  let shutDown = false;
  const handle: TracingHandle = {
    serviceName: opts.serviceName,
    tracer,
    spanFile: jsonl?.file,
    otlpUrl,
    flush: flushAll,
    async shutdown() {
      if (shutDown) return;
      shutDown = true;
      try {
        await flushAll();
        await jsonl?.shutdown();
        await otlp?.shutdown().catch(() => {});
        await provider.shutdown().catch(() => {});
      } finally {
        trace.disable();
        context.disable();
        propagation.disable();
        if (current === handle) current = undefined;
      }
    },
  };
  current = handle;
  return handle;
}
