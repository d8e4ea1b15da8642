/**
 * A function that runs `task` once, after the current turn of the event loop (setImmediate), however many times it is
 * called during the turn: callers resumed together all get their work queued before the task takes it.
 */
export function afterThisTurn(task: () => void): () => void {
  let scheduled = false;
  return () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      task();
    });
  };
}
