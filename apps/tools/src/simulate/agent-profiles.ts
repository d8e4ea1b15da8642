/** A simulated agent: its runs call its provider's models (from the samples) and pick among its tools. */
export interface AgentProfile {
  name: string;
  id: string;
  provider: 'openai' | 'anthropic';
  tools: string[];
}

export const AGENT_PROFILES: Omit<AgentProfile, 'id'>[] = [
  { name: 'weather-bot', provider: 'openai', tools: ['archival_memory_search', 'web_search'] },
  { name: 'support-triage', provider: 'anthropic', tools: ['conversation_search', 'archival_memory_search'] },
  {
    name: 'research-assistant',
    provider: 'anthropic',
    tools: ['web_search', 'fetch_webpage', 'archival_memory_insert'],
  },
  { name: 'travel-planner', provider: 'openai', tools: ['web_search', 'core_memory_append'] },
  { name: 'code-reviewer', provider: 'openai', tools: ['run_code', 'conversation_search'] },
  { name: 'sales-copilot', provider: 'anthropic', tools: ['archival_memory_search', 'core_memory_replace'] },
];
