import { useInfiniteQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { Empty, ErrorState, Loading } from '../components/States.tsx';
import { cursorPages } from '../lib/cursor-pages.ts';
import { formatCount } from '../lib/format.ts';
import { kindLabel } from '../lib/message-text.ts';
import { firstTokenStepId, runTimeline } from '../lib/run-timeline.ts';
import type { Message, Run } from '../lib/types.ts';
import { useTRPC, useTRPCClient } from '../trpc.ts';
import { RunSummary } from './RunSummary.tsx';
import { MessageItem, StepCard } from './StepCard.tsx';

const STEP_PAGE = 100;
const MESSAGE_PAGE = 200;

/**
 * The run as a timeline: its usage and cost, then its steps numbered oldest first, each with its messages, and the
 * messages of no step where the run put them. Steps and messages are read page by page (cursors); messages keep
 * loading while the last one loaded belongs to a step already shown, so each step shows its messages whole.
 */
export function RunTimeline({ run }: { run: Run }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const stepInput = { runId: run.id, order: 'asc' as const, limit: STEP_PAGE };
  const steps = useInfiniteQuery(
    cursorPages(trpc.runs.steps.infiniteQueryKey(stepInput), (cursor, signal) =>
      client.runs.steps.query({ ...stepInput, cursor }, { signal }),
    ),
  );
  const messageInput = { runId: run.id, limit: MESSAGE_PAGE };
  const messages = useInfiniteQuery(
    cursorPages(trpc.runs.messages.infiniteQueryKey(messageInput), (cursor, signal) =>
      client.runs.messages.query({ ...messageInput, cursor }, { signal }),
    ),
  );
  const stepRows = useMemo(() => steps.data?.pages.flatMap((p) => p.items) ?? [], [steps.data]);
  const messageRows = useMemo(() => messages.data?.pages.flatMap((p) => p.items) ?? [], [messages.data]);
  const allSteps = steps.isSuccess && !steps.hasNextPage;
  const timeline = useMemo(() => runTimeline(stepRows, messageRows, { allSteps }), [stepRows, messageRows, allSteps]);

  // Messages follow the steps loaded: fetch on while the last message loaded still belongs to a step shown.
  const loadedStepIds = useMemo(() => new Set(stepRows.map((s) => s.id)), [stepRows]);
  const lastMessage = messageRows.at(-1);
  const needMessages =
    steps.isSuccess &&
    messages.hasNextPage &&
    !messages.isFetchingNextPage &&
    (lastMessage === undefined || lastMessage.stepId == null || loadedStepIds.has(lastMessage.stepId));
  const { fetchNextPage: fetchMessages } = messages;
  useEffect(() => {
    if (needMessages && steps.hasNextPage) void fetchMessages();
  }, [needMessages, steps.hasNextPage, fetchMessages]);

  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());
  const counts = new Map<string, number>();
  for (const m of messageRows) counts.set(m.messageType, (counts.get(m.messageType) ?? 0) + 1);
  const toggle = (kind: string) => {
    const next = new Set(hidden);
    if (!next.delete(kind)) next.add(kind);
    setHidden(next);
  };
  const visible = (list: readonly Message[]) => list.filter((m) => !hidden.has(m.messageType));
  const ttftStep = run.ttftNs === null ? null : firstTokenStepId(stepRows);
  const more = steps.hasNextPage || messages.hasNextPage;
  const loadMore = () => {
    if (steps.hasNextPage) void steps.fetchNextPage();
    else if (messages.hasNextPage) void messages.fetchNextPage();
  };

  return (
    <>
      <RunSummary run={run} />
      <div className="card">
        <div className="timeline-head">
          <h2>Steps and messages</h2>
          <span className="muted" data-testid="timeline-count">
            {formatCount(stepRows.length)} steps{steps.hasNextPage ? '+' : ''} · {formatCount(messageRows.length)}{' '}
            messages{messages.hasNextPage ? '+' : ''}
          </span>
        </div>
        {counts.size > 0 && (
          <fieldset className="kinds">
            <legend>Show messages</legend>
            {[...counts].map(([kind, n]) => (
              <label key={kind} className={`check kind-${kind}`}>
                <input type="checkbox" checked={!hidden.has(kind)} onChange={() => toggle(kind)} />
                {kindLabel(kind)} ({n})
              </label>
            ))}
          </fieldset>
        )}
        {steps.isPending || messages.isPending ? (
          <Loading what="steps and messages" />
        ) : steps.error ? (
          <ErrorState error={steps.error} what="steps" />
        ) : messages.error ? (
          <ErrorState error={messages.error} what="messages" />
        ) : timeline.entries.length === 0 ? (
          <Empty>No steps or messages recorded for this run.</Empty>
        ) : (
          <ol className="run-timeline" data-testid="run-timeline">
            {timeline.entries.map((entry) =>
              entry.kind === 'step' ? (
                <StepCard
                  key={entry.step.id}
                  run={run}
                  step={entry.step}
                  number={entry.number}
                  messages={visible(entry.messages)}
                  ttftNs={entry.step.id === ttftStep ? run.ttftNs : null}
                />
              ) : (
                <li key={`loose-${entry.messages[0]?.id}`} className="loose-messages" data-testid="loose-messages">
                  <h3 className="muted">Outside any step</h3>
                  <ol className="timeline">
                    {visible(entry.messages).map((m) => (
                      <MessageItem key={m.id} message={m} runStart={run.createdAt} />
                    ))}
                  </ol>
                </li>
              ),
            )}
          </ol>
        )}
        {more && (
          <button
            type="button"
            className="load-more"
            onClick={loadMore}
            disabled={steps.isFetchingNextPage || messages.isFetchingNextPage}
          >
            {steps.hasNextPage ? 'Load more steps' : 'Load more messages'}
            {timeline.held > 0 ? ` (${formatCount(timeline.held)} messages of later steps loaded)` : ''}
          </button>
        )}
      </div>
    </>
  );
}
