// Reading a stream subject without being a role: an ephemeral pull consumer with a single filter
// subject (nats-server 2.9 has no multi-filter consumers), for sinks, tests, `troupe watch`.
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type Consumer } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { MESSAGE_STREAM } from '../../protocols/subjects.ts';
import { DEFAULT_MAX_DELIVER, nanos } from './streams.ts';

export interface ReaderOptions {
  stream?: string;
  /** 'all' replays from the start of the stream; 'new' only what arrives from now on. */
  from?: 'all' | 'new';
  /** Explicit acks (for sinks that must not lose a record) or none (observers). */
  ack?: boolean;
  /** Durable name: a sink that restarts continues where it left off. */
  durable?: string;
}

export async function subjectReader(nc: NatsConnection, subject: string, o: ReaderOptions = {}): Promise<Consumer> {
  const stream = o.stream ?? MESSAGE_STREAM;
  const jsm = await jetstreamManager(nc);
  const ci = await jsm.consumers.add(stream, {
    durable_name: o.durable,
    filter_subject: subject,
    ack_policy: o.ack ? AckPolicy.Explicit : AckPolicy.None,
    // Bounded like every consumer (no ack: delivered once). A sink with acks must record what it
    // cannot handle before its last delivery: the server then drops it from this consumer.
    max_deliver: o.ack ? DEFAULT_MAX_DELIVER : 1,
    deliver_policy: o.from === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    inactive_threshold: o.durable ? undefined : nanos(60_000),
  });
  return jetstream(nc).consumers.get(stream, ci.name);
}
