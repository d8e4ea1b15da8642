import { useState } from 'react';
import { CopyButton } from './CopyButton.tsx';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Children shown before "show more": provider payloads can hold thousands of messages. */
const PAGE = 200;

/**
 * A collapsible JSON tree: objects and arrays open to `openDepth` levels, each with its size and a copy button of
 * its own subtree.
 */
export function JsonTree({ value, name, openDepth = 1 }: { value: unknown; name?: string; openDepth?: number }) {
  return (
    <div className="json-tree" data-testid="json-tree">
      <JsonNode value={value as Json} name={name} depth={0} openDepth={openDepth} />
    </div>
  );
}

function JsonNode({
  value,
  name,
  depth,
  openDepth,
}: {
  value: Json;
  name?: string | undefined;
  depth: number;
  openDepth: number;
}) {
  const [open, setOpen] = useState(depth < openDepth);
  const [shown, setShown] = useState(PAGE);
  const label = name === undefined ? null : <span className="json-key">{name}: </span>;
  if (value === null || typeof value !== 'object') {
    return (
      <div className="json-leaf">
        {label}
        <span className={`json-${value === null ? 'null' : typeof value}`}>{JSON.stringify(value)}</span>
      </div>
    );
  }
  const entries: [string, Json][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  const brackets = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  return (
    <div className="json-node">
      <button type="button" className="json-toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? '▾' : '▸'}
      </button>
      {label}
      <span className="muted">
        {brackets[0]}
        {open ? '' : ` ${entries.length} ${Array.isArray(value) ? 'items' : 'keys'} ${brackets[1]}`}
      </span>
      <CopyButton text={() => JSON.stringify(value, null, 2)} label="Copy" />
      {open && (
        <div className="json-children">
          {entries.slice(0, shown).map(([key, child]) => (
            <JsonNode key={key} name={key} value={child} depth={depth + 1} openDepth={openDepth} />
          ))}
          {entries.length > shown && (
            <button type="button" onClick={() => setShown(shown + PAGE)}>
              Show {Math.min(PAGE, entries.length - shown)} more of {entries.length - shown}
            </button>
          )}
          <span className="muted">{brackets[1]}</span>
        </div>
      )}
    </div>
  );
}
