import { type FormEvent, useState } from 'react';
import { maskApiKey } from '../lib/api-key.ts';

/**
 * Without a key every call acts as the default organization (unless the api requires keys); a saved key is sent as
 * `Authorization: Bearer …` on every call, subscriptions included.
 */
export function ApiKeyForm({ apiKey, onChange }: { apiKey: string | null; onChange(key: string | null): void }) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState('');
  if (!editing) {
    return (
      <div className="apikey" data-testid="apikey">
        <span className="muted">{apiKey ? `API key ${maskApiKey(apiKey)}` : 'Default organization (no API key)'}</span>
        <button type="button" onClick={() => setEditing(true)}>
          {apiKey ? 'Change key' : 'Enter API key'}
        </button>
        {apiKey && (
          <button type="button" onClick={() => onChange(null)}>
            Forget key
          </button>
        )}
      </div>
    );
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onChange(draft.trim() || null);
    setDraft('');
    setEditing(false);
  };
  return (
    <form className="apikey" onSubmit={submit}>
      <input
        type="password"
        name="apiKey"
        autoComplete="off"
        placeholder="rt_…"
        aria-label="API key"
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
      />
      <button type="submit">Save key</button>
      <button type="button" onClick={() => setEditing(false)}>
        Cancel
      </button>
    </form>
  );
}
