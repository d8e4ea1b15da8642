/** Where the entered API key is kept: this browser only, never in a URL (links and history would leak it). */
const STORAGE_KEY = 'runtrace.apiKey';

export function loadApiKey(): string | null {
  try {
    return window.localStorage.getItem(STORAGE_KEY) || null;
  } catch {
    // Storage disabled (privacy mode): the key lasts as long as the page.
    return null;
  }
}

export function saveApiKey(key: string | null): void {
  try {
    if (key) window.localStorage.setItem(STORAGE_KEY, key);
    else window.localStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage disabled: see loadApiKey.
  }
}

/** `rt_…1a2b`: enough to tell keys apart without showing the secret. */
export function maskApiKey(key: string): string {
  return key.length <= 10 ? '•'.repeat(key.length) : `${key.slice(0, 3)}…${key.slice(-4)}`;
}
