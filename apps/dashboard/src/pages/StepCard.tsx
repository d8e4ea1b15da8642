import { useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { CopyButton } from '../components/CopyButton.tsx';
import { Fact } from '../components/Fact.tsx';
import { JsonTree } from '../components/JsonTree.tsx';
import { Offset } from '../components/Offset.tsx';
import { Empty, ErrorState, Loading } from '../components/States.tsx';
import { StatusBadge } from '../components/StatusBadge.tsx';
import { formatCount, formatNs } from '../lib/format.ts';
import { kindLabel, messageText } from '../lib/message-text.ts';
import { TTFT_EXPLANATION } from '../lib/run-duration.ts';
import type { Message, Run, Step } from '../lib/types.ts';
import { formatUsd } from '../lib/format.ts';
import { useTRPC } from '../trpc.ts';

/**
 * One step of the run's timeline: its number, when it was recorded, its timings (the producer's: step, LLM, tool, and
 * the run's time to first token on the step it belongs to), tokens by type, cost, error, the messages it produced and,
 * on demand, its provider trace.
 */
export function StepCard({
  run,
  step,
  number,
  messages,
  ttftNs,
}: {
  run: Run;
  step: Step;
  number: number;
  messages: readonly Message[];
  /** The run's time to first token when it belongs to this step. */
  ttftNs: string | null;
}) {
  const [open, setOpen] = useState(false);
  const traceId = useId();
  return (
    <li className="step-card" data-testid="step" data-step-id={step.id} data-number={number}>
      <div className="step-head">
        <h3>Step {number}</h3>
        <StatusBadge status={step.status} />
        <Offset start={run.createdAt} at={step.createdAt} />
        <span className="step-model">{step.model ?? 'no model'}</span>
        <span className="mono muted step-id">
          {step.id.slice(0, 13)}… <CopyButton text={step.id} label="Copy id" />
        </span>
      </div>
      <div className="facts step-facts">
        <Fact label="step duration">
          <span data-testid="step-duration">{formatNs(step.stepNs)}</span>
        </Fact>
        <Fact label="LLM time">
          <span data-testid="step-llm">{formatNs(step.llmRequestNs)}</span>
        </Fact>
        <Fact label="tool time">
          <span data-testid="step-tool">{formatNs(step.toolExecutionNs)}</span>
        </Fact>
        <Fact label="TTFT">
          <span
            data-testid="step-ttft"
            title={
              ttftNs ? TTFT_EXPLANATION : 'The run measures one time to first token, in its first successful step.'
            }
          >
            {formatNs(ttftNs)}
          </span>
        </Fact>
        <Fact label="cost">
          <span data-testid="step-cost">{step.costUsd === null ? 'unpriced' : formatUsd(step.costUsd)}</span>
        </Fact>
        <Fact label="tokens">
          <span data-testid="step-tokens" title="input + cached input + cache writes + output + reasoning">
            {formatCount(step.totalTokens)}
          </span>
        </Fact>
        <Fact label="input">{formatCount(step.inputTokens)}</Fact>
        {step.cachedInputTokens > 0 && <Fact label="cached input">{formatCount(step.cachedInputTokens)}</Fact>}
        {step.cacheWriteTokens > 0 && <Fact label="cache writes">{formatCount(step.cacheWriteTokens)}</Fact>}
        <Fact label="output">{formatCount(step.outputTokens)}</Fact>
        {step.reasoningTokens > 0 && <Fact label="reasoning">{formatCount(step.reasoningTokens)}</Fact>}
        {step.stopReason && <Fact label="stop reason">{step.stopReason}</Fact>}
      </div>
      {(step.errorType || step.errorData) && (
        <div className="step-error">
          <strong className="error-text">{step.errorType ?? 'error'}</strong>
          {step.errorData && <JsonTree value={step.errorData} openDepth={1} />}
        </div>
      )}
      {messages.length > 0 && (
        <ol className="timeline" aria-label={`Messages of step ${number}`}>
          {messages.map((m) => (
            <MessageItem key={m.id} message={m} runStart={run.createdAt} />
          ))}
        </ol>
      )}
      <button
        type="button"
        className="trace-toggle"
        aria-expanded={open}
        aria-controls={traceId}
        onClick={() => setOpen(!open)}
      >
        {open ? 'Hide provider trace' : 'Provider trace'}
      </button>
      <div id={traceId}>{open && <StepTrace stepId={step.id} runStart={run.createdAt} />}</div>
    </li>
  );
}

/** A stored message in the timeline: kind, position, time from the run's start, text. */
export function MessageItem({ message, runStart }: { message: Message; runStart: string }) {
  return (
    <li
      className={`message kind-${message.messageType}`}
      data-testid="message"
      data-seq={message.seqId}
      data-step-id={message.stepId ?? ''}
    >
      <div className="message-head">
        <span className="badge">{kindLabel(message.messageType)}</span>
        <Offset start={runStart} at={message.date} />
        <span className="muted">#{message.seqId}</span>
      </div>
      <div className="message-text">{messageText(message)}</div>
    </li>
  );
}

/** The step's LLM request and response from the primary telemetry backend; the JSON scrolls inside its panel. */
function StepTrace({ stepId, runStart }: { stepId: string; runStart: string }) {
  const trpc = useTRPC();
  const trace = useQuery(trpc.steps.trace.queryOptions({ stepId }));
  if (trace.isPending) return <Loading what="the provider trace" />;
  if (trace.error) return <ErrorState error={trace.error} what="the provider trace" />;
  if (!trace.data) return <Empty>No provider trace was recorded for this step.</Empty>;
  const t = trace.data;
  return (
    <div className="provider-trace" data-testid="provider-trace">
      <div className="muted">
        {t.id} · {t.callType ?? 'call'} · recorded <Offset start={runStart} at={t.createdAt} />
      </div>
      <div className="trace-columns">
        <TraceColumn title="Request" value={t.requestJson} />
        <TraceColumn title="Response" value={t.responseJson} />
      </div>
    </div>
  );
}

function TraceColumn({ title, value }: { title: string; value: unknown }) {
  return (
    <div>
      <h4>
        {title} <CopyButton text={() => JSON.stringify(value, null, 2)} label={`Copy ${title.toLowerCase()}`} />
      </h4>
      <JsonTree value={value} openDepth={4} />
    </div>
  );
}
