import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Fragment, useState } from 'react';
import { CopyButton } from '../components/CopyButton.tsx';
import { Fact } from '../components/Fact.tsx';
import { JsonTree } from '../components/JsonTree.tsx';
import { Empty, ErrorState, Loading } from '../components/States.tsx';
import { StatusBadge } from '../components/StatusBadge.tsx';
import { cursorPages } from '../lib/cursor-pages.ts';
import { formatCount, formatNs, formatTime } from '../lib/format.ts';
import { kindLabel, messageText } from '../lib/message-text.ts';
import type { Message, Run, Step } from '../lib/types.ts';
import { useTRPC, useTRPCClient } from '../trpc.ts';

const PAGE_SIZE = 100;

export function RunOverview({ run }: { run: Run }) {
  return (
    <>
      <UsageAndMetrics runId={run.id} />
      <Steps runId={run.id} />
      <Messages runId={run.id} />
    </>
  );
}

function UsageAndMetrics({ runId }: { runId: string }) {
  const trpc = useTRPC();
  const usage = useQuery(trpc.runs.usage.queryOptions({ runId }));
  const metrics = useQuery(trpc.runs.metrics.queryOptions({ runId }));
  return (
    <div className="cards">
      <div className="card" data-testid="usage">
        <h2>Usage</h2>
        {usage.isPending ? (
          <Loading what="usage" />
        ) : usage.error ? (
          <ErrorState error={usage.error} what="usage" />
        ) : (
          <div className="facts">
            <Fact label="prompt tokens">{formatCount(usage.data.promptTokens)}</Fact>
            <Fact label="completion tokens">{formatCount(usage.data.completionTokens)}</Fact>
            <Fact label="total tokens">{formatCount(usage.data.totalTokens)}</Fact>
            <Fact label="steps">{formatCount(usage.data.stepCount)}</Fact>
            <Fact label="cached input">{formatCount(usage.data.cachedInputTokens)}</Fact>
            <Fact label="cache writes">{formatCount(usage.data.cacheWriteTokens)}</Fact>
            <Fact label="reasoning">{formatCount(usage.data.reasoningTokens)}</Fact>
          </div>
        )}
      </div>
      <div className="card" data-testid="metrics">
        <h2>Metrics</h2>
        {metrics.isPending ? (
          <Loading what="metrics" />
        ) : metrics.error ? (
          <ErrorState error={metrics.error} what="metrics" />
        ) : (
          <div className="facts">
            <Fact label="run time">{formatNs(metrics.data.runNs)}</Fact>
            <Fact label="steps">{formatCount(metrics.data.numSteps)}</Fact>
            <Fact label="tools used">{metrics.data.toolsUsed?.join(', ') || '—'}</Fact>
          </div>
        )}
      </div>
    </div>
  );
}

function Steps({ runId }: { runId: string }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const input = { runId, limit: PAGE_SIZE };
  const steps = useInfiniteQuery(
    cursorPages(trpc.runs.steps.infiniteQueryKey(input), (cursor, signal) =>
      client.runs.steps.query({ ...input, cursor }, { signal }),
    ),
  );
  const [open, setOpen] = useState<string | null>(null);
  const rows = steps.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div className="card">
      <h2>Steps</h2>
      {steps.isPending ? (
        <Loading what="steps" />
      ) : steps.error ? (
        <ErrorState error={steps.error} what="steps" />
      ) : rows.length === 0 ? (
        <Empty>No steps recorded for this run.</Empty>
      ) : (
        <table className="steps" data-testid="steps">
          <thead>
            <tr>
              <th>step</th>
              <th>model</th>
              <th>status</th>
              <th>prompt</th>
              <th>completion</th>
              <th>total</th>
              <th>LLM time</th>
              <th>error</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((step) => (
              <Fragment key={step.id}>
                <StepRow
                  step={step}
                  open={open === step.id}
                  onToggle={() => setOpen(open === step.id ? null : step.id)}
                />
                {open === step.id && (
                  <tr className="step-trace-row">
                    <td colSpan={9}>
                      <StepTrace stepId={step.id} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
      {steps.hasNextPage && (
        <button type="button" onClick={() => steps.fetchNextPage()} disabled={steps.isFetchingNextPage}>
          Load more steps
        </button>
      )}
    </div>
  );
}

function StepRow({ step, open, onToggle }: { step: Step; open: boolean; onToggle(): void }) {
  return (
    <tr data-testid="step-row">
      <td className="mono">
        {step.id.slice(0, 13)}… <CopyButton text={step.id} label="Copy id" />
      </td>
      <td>{step.model ?? '—'}</td>
      <td>
        <StatusBadge status={step.status} />
      </td>
      <td>{formatCount(step.promptTokens)}</td>
      <td>{formatCount(step.completionTokens)}</td>
      <td>{formatCount(step.totalTokens)}</td>
      <td>{formatNs(step.llmRequestNs)}</td>
      <td className="error-text">{step.errorType ?? ''}</td>
      <td>
        <button type="button" onClick={onToggle} aria-expanded={open}>
          {open ? 'Hide provider trace' : 'Provider trace'}
        </button>
      </td>
    </tr>
  );
}

/** The step's LLM request and response from the primary telemetry backend. */
function StepTrace({ stepId }: { stepId: string }) {
  const trpc = useTRPC();
  const trace = useQuery(trpc.steps.trace.queryOptions({ stepId }));
  if (trace.isPending) return <Loading what="the provider trace" />;
  if (trace.error) return <ErrorState error={trace.error} what="the provider trace" />;
  if (!trace.data) return <Empty>No provider trace was recorded for this step.</Empty>;
  const t = trace.data;
  return (
    <div className="provider-trace" data-testid="provider-trace">
      <div className="muted">
        {t.id} · {t.callType ?? 'call'} · {formatTime(t.createdAt)}
      </div>
      <div className="trace-columns">
        <div>
          <h3>
            Request <CopyButton text={() => JSON.stringify(t.requestJson, null, 2)} label="Copy request" />
          </h3>
          <JsonTree value={t.requestJson} openDepth={4} />
        </div>
        <div>
          <h3>
            Response <CopyButton text={() => JSON.stringify(t.responseJson, null, 2)} label="Copy response" />
          </h3>
          <JsonTree value={t.responseJson} openDepth={4} />
        </div>
      </div>
    </div>
  );
}

function Messages({ runId }: { runId: string }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const input = { runId, limit: PAGE_SIZE };
  const messages = useInfiniteQuery(
    cursorPages(trpc.runs.messages.infiniteQueryKey(input), (cursor, signal) =>
      client.runs.messages.query({ ...input, cursor }, { signal }),
    ),
  );
  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());
  const all = messages.data?.pages.flatMap((p) => p.items) ?? [];
  const counts = new Map<string, number>();
  for (const m of all) counts.set(m.messageType, (counts.get(m.messageType) ?? 0) + 1);
  const toggle = (kind: string) => {
    const next = new Set(hidden);
    if (!next.delete(kind)) next.add(kind);
    setHidden(next);
  };
  return (
    <div className="card">
      <h2>Messages</h2>
      <div className="kinds">
        {[...counts].map(([kind, n]) => (
          <label key={kind} className={`check kind-${kind}`}>
            <input type="checkbox" checked={!hidden.has(kind)} onChange={() => toggle(kind)} />
            {kindLabel(kind)} ({n})
          </label>
        ))}
      </div>
      {messages.isPending ? (
        <Loading what="messages" />
      ) : messages.error ? (
        <ErrorState error={messages.error} what="messages" />
      ) : all.length === 0 ? (
        <Empty>No messages recorded for this run.</Empty>
      ) : (
        <ol className="timeline" data-testid="messages">
          {all
            .filter((m) => !hidden.has(m.messageType))
            .map((m) => (
              <MessageItem key={m.id} message={m} />
            ))}
        </ol>
      )}
      {messages.hasNextPage && (
        <button type="button" onClick={() => messages.fetchNextPage()} disabled={messages.isFetchingNextPage}>
          Load more messages
        </button>
      )}
    </div>
  );
}

function MessageItem({ message }: { message: Message }) {
  return (
    <li className={`message kind-${message.messageType}`} data-testid="message">
      <div className="message-head">
        <span className="badge">{kindLabel(message.messageType)}</span>
        <span className="muted">
          #{message.seqId} · {formatTime(message.date)}
        </span>
      </div>
      <div className="message-text">{messageText(message)}</div>
    </li>
  );
}
