import { describe, expect, it } from 'vitest';
import { newId } from '../ids.ts';
import { streamTargets } from '../testing/index.ts';
import { MemoryRunStream } from './memory.ts';
import { runStreamContract, say } from './run-stream.contract.ts';

const memory = streamTargets().find((t) => t.name === 'memory');
if (!memory) throw new Error('the memory stream target is missing');
runStreamContract('memory', memory);

describe('memory run stream', () => {
  it('gives a new stream of the same run a later epoch even within one millisecond', async () => {
    const s = new MemoryRunStream({ now: () => 1_700_000_000_000 });
    const runId = newId('run');
    const a = await s.append(runId, [say('1')]);
    s.drop(runId);
    const b = await s.append(runId, [say('1')]);
    expect(b.positions[0]?.epoch).not.toBe(a.positions[0]?.epoch);
    expect(Number.parseInt(b.positions[0]?.epoch ?? '', 36)).toBeGreaterThan(
      Number.parseInt(a.positions[0]?.epoch ?? '', 36),
    );
    await s.close();
  });
});
