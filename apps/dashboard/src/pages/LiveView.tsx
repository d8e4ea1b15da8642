import { isRunStreamEvent } from '@runtrace/client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { memo, useLayoutEffect, useRef, useState } from 'react';
import { Offset } from '../components/Offset.tsx';
import { ErrorState } from '../components/States.tsx';
import { formatCount } from '../lib/format.ts';
import { type LiveMessage, LiveTranscript } from '../lib/live-transcript.ts';
import { kindLabel } from '../lib/message-text.ts';
import { isActive, type Run } from '../lib/types.ts';
import { formatUsd } from '../lib/format.ts';
import { useTRPC } from '../trpc.ts';
import { CancelRunButton } from './CancelRunButton.tsx';
import { type Connection, LiveStatus } from './LiveStatus.tsx';
import './LiveView.css';

/**
 * A background run as it streams (`runs.stream`, one subscription): token chunks are appended to their message and
 * drawn once per animation frame, whatever the event rate. A dropped connection is shown and resumed by the client
 * after the last event id it received, so text is neither lost nor repeated. Each message shows when it started
 * (from the run's start), steps are divided, and a silent stream says since when. Cancel, once confirmed, ends the
 * run for every watcher.
 */
export function LiveView({ run }: { run: Run }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [transcript] = useState(() => new LiveTranscript());
  const [, setFrame] = useState(0);
  const frame = useRef<number | null>(null);
  const [connection, setConnection] = useState<Connection>('connecting');
  const [reconnects, setReconnects] = useState(0);
  const connected = useRef(false);

  const refreshRun = () => {
    void queryClient.invalidateQueries({ queryKey: trpc.runs.retrieve.queryKey({ runId: run.id }) });
    void queryClient.invalidateQueries({ queryKey: trpc.runs.usage.queryKey({ runId: run.id }) });
  };
  const draw = () => {
    frame.current ??= requestAnimationFrame(() => {
      frame.current = null;
      setFrame((n) => n + 1);
    });
  };
  const subscription = useSubscription(
    trpc.runs.stream.subscriptionOptions(
      { runId: run.id },
      {
        enabled: Boolean(run.background),
        onData(message) {
          if (!isRunStreamEvent(message)) return;
          if (transcript.apply(message.data)) draw();
          if (message.data.messageType === 'stop_reason') refreshRun();
        },
        onConnectionStateChange(state) {
          if (state.state === 'pending') {
            connected.current = true;
            setConnection('live');
          } else if (state.state === 'connecting') {
            // The first 'connecting' is the initial connection; any later one follows a dropped connection.
            if (connected.current) {
              connected.current = false;
              setReconnects((n) => n + 1);
              setConnection('reconnecting');
            }
          } else {
            setConnection('ended');
            refreshRun();
          }
        },
        onError() {
          setConnection('failed');
        },
      },
    ),
  );
  const cancel = useMutation(trpc.runs.cancel.mutationOptions({ onSettled: refreshRun }));
  // The cost of what the usage line counts: priced by the api once the producer reported its usage.
  const usage = useQuery(trpc.runs.usage.queryOptions({ runId: run.id }, { enabled: transcript.usage !== null }));

  // User timing: one mark per drawn frame with the events drawn so far (the render-lag budget is measured on these).
  useLayoutEffect(() => {
    performance.mark('runtrace:live-render', { detail: { events: transcript.events } });
  });
  const scrollRef = useRef<HTMLElement>(null);
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 80) el.scrollTop = el.scrollHeight;
  });

  if (!run.background) return <div className="state empty">Only background runs have a live stream.</div>;
  const ended = connection === 'ended' || transcript.stopReason !== null;
  const runStart = Date.parse(run.createdAt);
  return (
    <div className="card live-view">
      <div className="live-bar">
        <LiveStatus
          connection={ended ? 'ended' : connection}
          runStart={runStart}
          lastActivityAt={transcript.lastEventAt ?? Date.parse(run.updatedAt)}
        />
        <span data-testid="live-reconnects" data-count={reconnects}>
          {reconnects === 0 ? 'no reconnects' : `reconnected ${reconnects}×, resumed after event ${transcript.lastSeq}`}
        </span>
        <span data-testid="live-events" data-count={transcript.events} data-duplicates={transcript.duplicates}>
          {formatCount(transcript.events)} events
          {transcript.steps ? ` in ${formatCount(transcript.steps)} steps` : ''}
          {transcript.duplicates ? `, ${formatCount(transcript.duplicates)} repeated events ignored` : ''}
        </span>
        {transcript.stopReason && (
          <span className="badge" data-testid="live-stop-reason">
            stop reason: {transcript.stopReason}
          </span>
        )}
        <CancelRunButton
          disabled={ended || cancel.isPending || !isActive(run.status)}
          pending={cancel.isPending}
          onConfirm={() => cancel.mutate({ runId: run.id })}
        />
      </div>
      {cancel.error && <ErrorState error={cancel.error} what="the cancel" />}
      {subscription.error && connection === 'failed' && <ErrorState error={subscription.error} what="the stream" />}
      {/* Focusable so that the keyboard can scroll it; not aria-live: hundreds of chunks a second would drown a reader. */}
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard */}
      <section className="transcript" ref={scrollRef} data-testid="transcript" tabIndex={0} aria-label="Transcript">
        {transcript.messages.length === 0 && !ended && <div className="muted">Waiting for the first event…</div>}
        {transcript.messages.map((m) => (
          <LiveMessageRow key={m.key} message={m} version={m.version} runStart={runStart} />
        ))}
      </section>
      {transcript.usage && (
        <div className="muted live-usage" data-testid="live-usage">
          usage: {formatCount(transcript.usage.promptTokens)} prompt + {formatCount(transcript.usage.completionTokens)}{' '}
          completion = {formatCount(transcript.usage.totalTokens)} tokens · {formatCount(transcript.usage.stepCount)}{' '}
          {transcript.usage.stepCount === 1 ? 'step' : 'steps'} · cost{' '}
          <span data-testid="live-cost">{usage.data ? formatUsd(usage.data.costUsd) : '…'}</span>
        </div>
      )}
    </div>
  );
}

/** `version` changes with every chunk of the message: only the message that grew is drawn again. */
const LiveMessageRow = memo(function LiveMessageRow({
  message,
  runStart,
}: {
  message: LiveMessage;
  version: number;
  runStart: number;
}) {
  return (
    <>
      {message.firstOfStep && (
        <div className="step-divider" data-testid="live-step-divider" data-step={message.step}>
          <span>Step {message.step}</span>
        </div>
      )}
      <div
        className={`message kind-${message.kind}`}
        data-testid="live-message"
        data-kind={message.kind}
        data-step={message.step ?? ''}
      >
        <Offset start={runStart} at={message.at} />
        <span className="badge">{kindLabel(message.kind)}</span>
        <span className="message-text">{message.text}</span>
      </div>
    </>
  );
});
