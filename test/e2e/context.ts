// What the global setup hands to the test files (vitest `provide` / `inject`).
declare module 'vitest' {
  export interface ProvidedContext {
    /** The lab directory (lab.json, inventory.yaml, known_hosts, id_ed25519). */
    labDir: string;
    /** The lab's prefix (`kt` + 3 random characters). */
    labPrefix: string;
    /** A scratch directory of this run, removed at teardown; tests put temp playbooks here. */
    e2eTmp: string;
  }
}

export const LAB_HOSTS = ['hv1', 'hv2', 'hv3'] as const;
export type LabHost = (typeof LAB_HOSTS)[number];
