/** Who is calling: every read and write is scoped to this organization. */
export interface Actor {
  readonly organizationId: string;
  readonly userId: string;
}

/** Letta's default organization and user: requests without a key act as them unless auth is required. */
export const DEFAULT_ORGANIZATION_ID = 'org-00000000-0000-4000-8000-000000000000';
export const DEFAULT_USER_ID = 'user-00000000-0000-4000-8000-000000000000';
export const DEFAULT_ACTOR: Actor = Object.freeze({ organizationId: DEFAULT_ORGANIZATION_ID, userId: DEFAULT_USER_ID });
