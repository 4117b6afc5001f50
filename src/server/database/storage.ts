/**
 * The server's storage: every store, written once over SqlExecutor (the database, or one
 * open transaction), for either SQLite or PostgreSQL (sql-database.ts). In the style of
 * Fleet's datastore: services get a `Storage`, read through its stores, and write what
 * must happen together through `transaction(fn)`, where `fn` gets the same stores bound to
 * the transaction.
 */
import type { SqlDatabase, SqlExecutor, TransactionOptions } from './sql-database.js';
import { TenantStore } from './tenant-store.js';
import { DeviceStore } from './device-store.js';
import { AlertStore } from './alert-store.js';
import { NonceStore } from './nonce-store.js';
import { SessionStore } from './session-store.js';
import { PackStore } from './pack-store.js';
import { FleetControlStore } from './fleet-control-store.js';
import { AlertTriageStore } from './alert-triage-store.js';
import { NotifyStore } from './notify-store.js';

export interface Stores {
  tenants: TenantStore;
  devices: DeviceStore;
  alerts: AlertStore;
  nonces: NonceStore;
  sessions: SessionStore;
  packs: PackStore;
  control: FleetControlStore;
  triage: AlertTriageStore;
  notify: NotifyStore;
}

/** Every store over one executor. Cheap: stores hold only the executor. */
export function storesOver(exec: SqlExecutor): Stores {
  return {
    tenants: new TenantStore(exec),
    devices: new DeviceStore(exec),
    alerts: new AlertStore(exec),
    nonces: new NonceStore(exec),
    sessions: new SessionStore(exec),
    packs: new PackStore(exec),
    control: new FleetControlStore(exec),
    triage: new AlertTriageStore(exec),
    notify: new NotifyStore(exec),
  };
}

export interface Storage extends Stores {
  readonly database: SqlDatabase;
  /** Runs `fn` in one transaction with the stores bound to it; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Stores) => Promise<T>, opts?: TransactionOptions): Promise<T>;
  close(): Promise<void>;
}

export function storageOver(database: SqlDatabase): Storage {
  return {
    ...storesOver(database),
    database,
    transaction: (fn, opts) => database.transaction((tx) => fn(storesOver(tx)), opts),
    close: () => database.close(),
  };
}
