import { runChangeFeedContract } from './run-change-feed.contract.ts';
import { MemoryRunChangeFeed } from './run-changes.ts';

runChangeFeedContract('memory', {
  create: async () => new MemoryRunChangeFeed(),
  // One process has one in-process feed: publisher and subscribers share it.
  peer: async (feed) => feed,
  held: (feed) => {
    if (!(feed instanceof MemoryRunChangeFeed)) throw new Error('not the in-process feed');
    return feed.stats().subscribers;
  },
});
