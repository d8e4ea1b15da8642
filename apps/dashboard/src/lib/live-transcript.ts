import { messageText } from './message-text.ts';
import type { RunEvent } from './types.ts';

/** A streamed event as `runs.stream` delivers it: the event with its run and its position in the stream. */
export type StreamedEvent = RunEvent & { seqId: number };

export interface LiveMessage {
  /** `<kind>:<message id>` (chunks of one message share it), or `<kind>:seq-<n>` for an event without an id. */
  key: string;
  kind: RunEvent['messageType'];
  text: string;
  chunks: number;
  /** Bumped on every chunk: what a memoized row compares. */
  version: number;
  /** When its first chunk was produced (the event's `date`), else received: epoch milliseconds. */
  at: number;
  /** The step it belongs to (the event's `stepId`), and that step's number in order of first appearance from 1. */
  stepId: string | null;
  step: number | null;
  /** The first message of its step: the view draws a step divider before it. */
  firstOfStep: boolean;
}

/**
 * A background run's transcript assembled from its stream: token chunks of one message (same id) are concatenated in
 * stream order. Mutable on purpose: at hundreds of events a second the view re-renders once per frame, and only the
 * message that grew. Events at or below the last position seen are counted as duplicates and ignored, so a reconnect
 * that repeated something could not repeat text.
 */
export class LiveTranscript {
  readonly messages: LiveMessage[] = [];
  readonly #byKey = new Map<string, LiveMessage>();
  readonly #steps = new Map<string, number>();
  lastSeq = 0;
  events = 0;
  duplicates = 0;
  /** Characters of text received, for a throughput readout. */
  characters = 0;
  /** When the latest event was produced (its `date`) or else received, epoch ms: how long the run has been silent. */
  lastEventAt: number | null = null;
  stopReason: string | null = null;
  usage: Extract<RunEvent, { messageType: 'usage_statistics' }> | null = null;

  /** Steps seen so far. */
  get steps(): number {
    return this.#steps.size;
  }

  /** Applies one event received at `receivedAt` (epoch ms); false when it was a duplicate. */
  apply(event: StreamedEvent, receivedAt: number = Date.now()): boolean {
    if (event.seqId <= this.lastSeq) {
      this.duplicates += 1;
      return false;
    }
    this.lastSeq = event.seqId;
    this.events += 1;
    const dated = 'date' in event && event.date ? Date.parse(event.date) : Number.NaN;
    const at = Number.isFinite(dated) ? dated : receivedAt;
    this.lastEventAt = Math.max(this.lastEventAt ?? at, at);
    if (event.messageType === 'stop_reason') this.stopReason = event.stopReason;
    if (event.messageType === 'usage_statistics') {
      this.usage = event;
      return true;
    }
    const text = messageText(event);
    this.characters += text.length;
    const key = `${event.messageType}:${('id' in event && event.id) || `seq-${event.seqId}`}`;
    const existing = this.#byKey.get(key);
    if (existing) {
      existing.text += text;
      existing.chunks += 1;
      existing.version += 1;
      return true;
    }
    const stepId = ('stepId' in event && event.stepId) || null;
    let step: number | null = null;
    let firstOfStep = false;
    if (stepId !== null) {
      step = this.#steps.get(stepId) ?? null;
      if (step === null) {
        step = this.#steps.size + 1;
        this.#steps.set(stepId, step);
        firstOfStep = true;
      }
    }
    const message: LiveMessage = {
      key,
      kind: event.messageType,
      text,
      chunks: 1,
      version: 0,
      at,
      stepId,
      step,
      firstOfStep,
    };
    this.#byKey.set(key, message);
    this.messages.push(message);
    return true;
  }
}
