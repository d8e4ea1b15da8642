import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type FromWriter, runWriter } from './file-writer.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'runtrace-file-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runWriter', () => {
  it("hands each written batch's memory back (transferred), so the sink reuses it instead of fresh pages", () => {
    const told: { message: FromWriter; transfer: ArrayBuffer[] | undefined }[] = [];
    const writer = runWriter(
      { dir, gzip: false, gzipLevel: 1, rotateBytes: 1 << 20, rotateMs: 60_000, prefix: 'w' },
      (message, transfer) => told.push({ message, transfer }),
    );
    const batch = Buffer.allocUnsafeSlow(64);
    const used = batch.write('{"a":1}\n{"b":2}\n');
    writer.handle({ type: 'batch', buf: new Uint8Array(batch.buffer, 0, used), records: 2 });
    writer.handle({ type: 'close' });
    const written = told.find((t) => t.message.type === 'written');
    expect(written?.message).toMatchObject({ type: 'written', bytes: used, records: 2, memory: batch.buffer });
    expect(written?.transfer).toEqual([batch.buffer]);
    const rotated = told.find((t) => t.message.type === 'rotated')?.message as { file: string };
    expect(readFileSync(path.join(dir, rotated.file), 'utf8')).toBe('{"a":1}\n{"b":2}\n');
  });
});
