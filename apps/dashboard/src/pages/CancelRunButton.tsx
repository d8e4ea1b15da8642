import { useId, useRef } from 'react';

/**
 * Cancel, confirmed first in a modal dialog (native `<dialog>`: focus moves into it and Escape dismisses it). The
 * dialog's first button, and so its initial focus, keeps the run going.
 */
export function CancelRunButton({
  disabled,
  pending,
  onConfirm,
}: {
  disabled: boolean;
  pending: boolean;
  onConfirm(): void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const title = useId();
  const description = useId();
  return (
    <>
      <button
        type="button"
        className="danger"
        aria-haspopup="dialog"
        onClick={() => dialog.current?.showModal()}
        disabled={disabled}
      >
        {pending ? 'Cancelling…' : 'Cancel run…'}
      </button>
      <dialog
        ref={dialog}
        className="confirm-dialog"
        aria-labelledby={title}
        aria-describedby={description}
        data-testid="cancel-dialog"
      >
        <h2 id={title}>Cancel this run?</h2>
        <p id={description}>
          The run stops for everyone watching it, and its stream ends with the stop reason “cancelled”. This cannot be
          undone.
        </p>
        <div className="dialog-actions">
          <button type="button" onClick={() => dialog.current?.close()}>
            Keep it running
          </button>
          <button
            type="button"
            className="danger"
            onClick={() => {
              dialog.current?.close();
              onConfirm();
            }}
          >
            Yes, cancel the run
          </button>
        </div>
      </dialog>
    </>
  );
}
