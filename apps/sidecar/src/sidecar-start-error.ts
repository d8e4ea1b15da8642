/** A setup the sidecar refuses to start with (unwritable directory, socket in use, bad ClickHouse URL): exit 1. */
export class SidecarStartError extends Error {
  override name = 'SidecarStartError';
}
