import { createHash, randomBytes } from 'node:crypto';
import { and, asc, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { type Actor, DEFAULT_ACTOR } from '../actor.ts';
import type { Db } from '../db/connect.ts';
import { apiKeys, organizations, users } from '../db/schema.ts';
import { NotFound, organizationNotFound, Unauthorized } from '../errors.ts';
import { assertId, newId } from '../ids.ts';
import { toIso, toIsoOrNull } from '../time.ts';

const KEY_PREFIX = 'rt_';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export interface ApiKeyInfo {
  id: string;
  organizationId: string;
  userId: string;
  name: string;
  /** The key's first characters, to tell keys apart; the key itself is never stored. */
  keyPrefix: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface Organization {
  id: string;
  name: string;
  createdAt: string;
  /** The organization's first user, whom its keys act as unless told otherwise. */
  userId: string;
}

const nameSchema = z.string().trim().min(1).max(200);

/** Organizations, users and API keys. Keys are random 256-bit secrets; only their SHA-256 is stored. */
export class AuthManager {
  readonly #db: Db;

  constructor(options: { db: Db }) {
    this.#db = options.db;
  }

  /** Creates the default organization and user on first start (idempotent). */
  async ensureDefaultActor(): Promise<Actor> {
    await this.#db
      .insert(organizations)
      .values({ id: DEFAULT_ACTOR.organizationId, name: 'default' })
      .onConflictDoNothing();
    await this.#db
      .insert(users)
      .values({ id: DEFAULT_ACTOR.userId, organizationId: DEFAULT_ACTOR.organizationId, name: 'default' })
      .onConflictDoNothing();
    return DEFAULT_ACTOR;
  }

  async createOrganization(name: string): Promise<Organization> {
    const orgName = nameSchema.parse(name);
    const org = { id: newId('organization'), name: orgName };
    const userId = newId('user');
    const [row] = await this.#db.transaction(async (tx) => {
      const inserted = await tx.insert(organizations).values(org).returning();
      await tx.insert(users).values({ id: userId, organizationId: org.id, name: 'owner' });
      return inserted;
    });
    if (!row) throw new Error('organization insert returned no row');
    return { id: row.id, name: row.name, createdAt: toIso(row.createdAt), userId };
  }

  async listOrganizations(): Promise<Omit<Organization, 'userId'>[]> {
    const rows = await this.#db.select().from(organizations).orderBy(asc(organizations.createdAt));
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: toIso(r.createdAt) }));
  }

  /** Creates a key for an organization. The returned `key` is shown once; it cannot be recovered later. */
  async createApiKey(organizationId: string, name: string): Promise<ApiKeyInfo & { key: string }> {
    assertId('organization', organizationId, 'organizationId');
    const keyName = nameSchema.parse(name);
    const [user] = await this.#db
      .select({ id: users.id })
      .from(users)
      .where(eq(users.organizationId, organizationId))
      .orderBy(asc(users.createdAt))
      .limit(1);
    if (!user) throw organizationNotFound(organizationId);
    const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const [row] = await this.#db
      .insert(apiKeys)
      .values({
        id: newId('apiKey'),
        organizationId,
        userId: user.id,
        name: keyName,
        keyHash: hashApiKey(key),
        keyPrefix: key.slice(0, 10),
      })
      .returning();
    if (!row) throw new Error('api key insert returned no row');
    return { ...toInfo(row), key };
  }

  async listApiKeys(organizationId: string): Promise<ApiKeyInfo[]> {
    assertId('organization', organizationId, 'organizationId');
    const rows = await this.#db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.organizationId, organizationId))
      .orderBy(asc(apiKeys.createdAt));
    return rows.map(toInfo);
  }

  async revokeApiKey(keyId: string): Promise<ApiKeyInfo> {
    assertId('apiKey', keyId, 'keyId');
    const [row] = await this.#db
      .update(apiKeys)
      .set({ revokedAt: new Date().toISOString() })
      .where(and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)))
      .returning();
    if (row) return toInfo(row);
    const [existing] = await this.#db.select().from(apiKeys).where(eq(apiKeys.id, keyId));
    if (!existing) throw new NotFound(`API key ${keyId} not found`, { field: 'keyId' });
    return toInfo(existing);
  }

  /** The actor a key acts as; Unauthorized for an unknown or revoked key. */
  async authenticate(key: string): Promise<Actor> {
    const [row] = await this.#db
      .select({ organizationId: apiKeys.organizationId, userId: apiKeys.userId, revokedAt: apiKeys.revokedAt })
      .from(apiKeys)
      .where(eq(apiKeys.keyHash, hashApiKey(key)));
    if (!row || row.revokedAt) throw new Unauthorized('Invalid or revoked API key');
    return { organizationId: row.organizationId, userId: row.userId };
  }
}

function toInfo(row: typeof apiKeys.$inferSelect): ApiKeyInfo {
  return {
    id: row.id,
    organizationId: row.organizationId,
    userId: row.userId,
    name: row.name,
    keyPrefix: row.keyPrefix,
    createdAt: toIso(row.createdAt),
    revokedAt: toIsoOrNull(row.revokedAt),
  };
}
