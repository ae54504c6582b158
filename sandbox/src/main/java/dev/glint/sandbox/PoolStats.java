package dev.glint.sandbox;

/**
 * A {@link SandboxPool}'s counters at one moment, from {@link SandboxPool#stats()}. The counts
 * ({@code idle}, {@code inUse}, {@code building}, {@code waiting}) are a consistent picture taken
 * under the pool's lock; the totals only grow.
 *
 * <p>While the pool is open and nothing is being built, every sandbox it ever built is idle, in
 * use, or was replaced: {@code created == idle + inUse + replaced}.
 *
 * @param created sandboxes built for the pool since it was built (the template sandbox, which only
 *     served to take the snapshot, not counted)
 * @param idle sandboxes ready for a lease now
 * @param inUse leases handed out and not yet released
 * @param replaced sandboxes closed on release instead of being reused, because a call through the
 *     lease left the guest in an unknown state or the restore failed (see {@link SandboxPool})
 * @param acquired leases handed out in total
 * @param exhausted acquires that gave up with {@link PoolExhaustedException}
 * @param building sandboxes being built now, for a waiting acquire or to top up the idle ones
 * @param waiting threads blocked in {@link SandboxPool#acquire} now
 */
public record PoolStats(
    long created,
    int idle,
    int inUse,
    long replaced,
    long acquired,
    long exhausted,
    int building,
    int waiting) {

  /** {@return the sandboxes the pool holds now, idle or in use (those being built not counted)} */
  public int size() {
    return idle + inUse;
  }
}
