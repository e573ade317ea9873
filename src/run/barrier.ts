// strategy: linear — every host of a batch finishes task N before any host starts task N+1.
// Hosts that stop early (failed, unreachable) leave, so nobody waits for them.

export class LinearBarrier {
  private arrived = new Map<number, number>();
  private waiters = new Map<number, Array<() => void>>();
  constructor(private active: number) {}

  arrive(index: number): Promise<void> {
    this.arrived.set(index, (this.arrived.get(index) ?? 0) + 1);
    const p = new Promise<void>((resolve) => this.waiters.set(index, [...(this.waiters.get(index) ?? []), resolve]));
    this.release();
    return p;
  }

  leave(): void {
    this.active -= 1;
    this.release();
  }

  private release(): void {
    for (const [index, resolvers] of this.waiters) {
      if ((this.arrived.get(index) ?? 0) >= this.active) {
        this.waiters.delete(index);
        resolvers.forEach((r) => r());
      }
    }
  }
}
