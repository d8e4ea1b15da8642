import { useId, useState } from 'react';

/**
 * An explanation behind an (i) button: shown on hover (the button's title) and, for keyboard and touch, toggled open
 * below it (a disclosure, `aria-expanded`), where it wraps within the page's width.
 */
export function InfoTip({ label, children }: { label: string; children: string }) {
  const [open, setOpen] = useState(false);
  const id = useId();
  return (
    <span className="info-tip">
      <button
        type="button"
        className="info-tip-button"
        aria-label={label}
        aria-expanded={open}
        aria-controls={id}
        title={children}
        onClick={() => setOpen(!open)}
      >
        i
      </button>
      <span id={id} className="info-tip-text" role="note" hidden={!open} data-testid="info-tip">
        {children}
      </span>
    </span>
  );
}
