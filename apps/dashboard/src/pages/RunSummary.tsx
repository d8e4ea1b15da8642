import { useQuery } from '@tanstack/react-query';
import { Fact } from '../components/Fact.tsx';
import { ErrorState, Loading } from '../components/States.tsx';
import { formatCount, formatNs } from '../lib/format.ts';
import type { Run } from '../lib/types.ts';
import { formatUsd } from '../lib/format.ts';
import { useTRPC } from '../trpc.ts';

/** The run in figures: what it cost, its tokens by type, its steps, LLM time and tools (`runs.usage`, `runs.metrics`). */
export function RunSummary({ run }: { run: Run }) {
  const trpc = useTRPC();
  const usage = useQuery(trpc.runs.usage.queryOptions({ runId: run.id }));
  const metrics = useQuery(trpc.runs.metrics.queryOptions({ runId: run.id }));
  return (
    <div className="card run-summary">
      <h2>Usage and cost</h2>
      {usage.isPending ? (
        <Loading what="usage" />
      ) : usage.error ? (
        <ErrorState error={usage.error} what="usage" />
      ) : (
        <div className="facts" data-testid="usage">
          <Fact label="cost">
            <span data-testid="run-cost">{formatUsd(usage.data.costUsd)}</span>
            {usage.data.unpricedTokens > 0 && (
              <span className="muted"> ({formatCount(usage.data.unpricedTokens)} tokens unpriced)</span>
            )}
          </Fact>
          <Fact label="total tokens">{formatCount(usage.data.totalTokens)}</Fact>
          <Fact label="prompt tokens">{formatCount(usage.data.promptTokens)}</Fact>
          <Fact label="cached input">{formatCount(usage.data.cachedInputTokens ?? 0)}</Fact>
          <Fact label="cache writes">{formatCount(usage.data.cacheWriteTokens ?? 0)}</Fact>
          <Fact label="completion tokens">{formatCount(usage.data.completionTokens)}</Fact>
          <Fact label="reasoning">{formatCount(usage.data.reasoningTokens ?? 0)}</Fact>
          <Fact label="steps">{formatCount(usage.data.stepCount)}</Fact>
          <Fact label="LLM time">{formatNs(run.llmNs)}</Fact>
        </div>
      )}
      {metrics.data && (
        <div className="facts" data-testid="metrics">
          <Fact label="tools used">{metrics.data.toolsUsed?.join(', ') || '—'}</Fact>
        </div>
      )}
      {metrics.error && <ErrorState error={metrics.error} what="metrics" />}
    </div>
  );
}
