import { appendFile, mkdtemp, readFile, stat, symlink, truncate, writeFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JOURNAL_FILE, Outbox, type HeartbeatDraft } from '../../../src/core/report/outbox.js';
import { connectionAlert, heartbeatFor } from '../../server/helpers/sample-reports.js';

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'vigil-outbox-'));
}

function draft(sentAt: string): HeartbeatDraft {
  const { deviceId: _d, outbox: _o, ...d } = heartbeatFor('dev_AAAAAAAAAAAAAAAAAAAAAA', { sentAt: new Date(sentAt) });
  return d;
}

describe('Outbox', () => {
  it('numbers heartbeats with a seq that survives reopen, delivery and compaction, and only grows', async () => {
    const dir = await tempDir();
    let box = await Outbox.open({ dir, compactMinBytes: 1 });
    for (let i = 1; i <= 3; i++) {
      await box.setHeartbeat(draft(`2026-11-20T09:0${i}:00Z`));
      expect(box.pendingHeartbeat()?.seq).toBe(i);
    }
    await box.heartbeatDelivered(box.pendingHeartbeat()!.sentAt);
    for (let i = 0; i < 20; i++) {
      await box.enqueueAlert(connectionAlert(i));
      await box.markDelivered([connectionAlert(i).alertId]);
    }
    await box.close();
    // Compacted: the heartbeat records are gone, the number lives on in the counters.
    const journal = await readFile(path.join(dir, JOURNAL_FILE), 'utf8');
    expect(journal).not.toContain('"t":"hb"');
    expect(journal).toContain('"heartbeatSeq":3');
    box = await Outbox.open({ dir, compactMinBytes: 1 });
    expect(box.lastHeartbeatSeq()).toBe(3);
    await box.adoptServerSeq(2);
    expect(box.lastHeartbeatSeq()).toBe(3);
    await box.adoptServerSeq(40);
    await box.close();
    box = await Outbox.open({ dir });
    await box.setHeartbeat(draft('2026-11-20T09:05:00Z'));
    expect(box.pendingHeartbeat()?.seq).toBe(41);
    await box.close();
  });

  it('keeps queued alerts across a reopen, in order, and forgets delivered ones', async () => {
    const dir = await tempDir();
    let box = await Outbox.open({ dir });
    for (let i = 0; i < 5; i++) expect(await box.enqueueAlert(connectionAlert(i))).toBe('queued');
    await box.markDelivered([connectionAlert(1).alertId, connectionAlert(3).alertId]);
    await box.close();

    box = await Outbox.open({ dir });
    expect(box.nextAlerts(10).map((a) => a.alertId)).toEqual([0, 2, 4].map((i) => connectionAlert(i).alertId));
    expect(box.stats()).toMatchObject({ pendingAlerts: 3, durable: true, skippedRecords: 0, oldestPendingAt: connectionAlert(0).raisedAt });
    expect((await stat(path.join(dir, JOURNAL_FILE))).mode & 0o777).toBe(0o600);
    await box.close();
  });

  it('does not queue an alert again while pending or after delivery (remembered across reopen)', async () => {
    const dir = await tempDir();
    let box = await Outbox.open({ dir });
    expect(await box.enqueueAlert(connectionAlert(1))).toBe('queued');
    expect(await box.enqueueAlert(connectionAlert(1))).toBe('duplicate');
    await box.markDelivered([connectionAlert(1).alertId]);
    expect(await box.enqueueAlert(connectionAlert(1))).toBe('duplicate');
    await box.close();
    box = await Outbox.open({ dir });
    expect(await box.enqueueAlert(connectionAlert(1))).toBe('duplicate');
    expect(box.stats().pendingAlerts).toBe(0);
    await box.close();
  });

  it('stops at the hard cap, keeps the oldest alerts, and counts the overflow persistently', async () => {
    const dir = await tempDir();
    let box = await Outbox.open({ dir, maxAlerts: 3 });
    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push(await box.enqueueAlert(connectionAlert(i)));
    expect(outcomes).toEqual(['queued', 'queued', 'queued', 'overflow', 'overflow']);
    await box.close();
    box = await Outbox.open({ dir, maxAlerts: 3 });
    expect(box.stats()).toMatchObject({ pendingAlerts: 3, droppedAlerts: 2 });
    expect(box.nextAlerts(10).map((a) => a.alertId)).toEqual([0, 1, 2].map((i) => connectionAlert(i).alertId));
    // Delivering makes room again; the dropped count is cumulative and stays.
    await box.markDelivered([connectionAlert(0).alertId]);
    expect(await box.enqueueAlert(connectionAlert(9))).toBe('queued');
    expect(box.stats()).toMatchObject({ pendingAlerts: 3, droppedAlerts: 2 });
    await box.close();
  });

  it('collapses heartbeats to the newest, and a delivered one is not resent after reopen', async () => {
    const dir = await tempDir();
    let box = await Outbox.open({ dir });
    await box.setHeartbeat(draft('2026-11-20T09:00:00Z'));
    await box.setHeartbeat(draft('2026-11-20T09:01:00Z'));
    await box.setHeartbeat(draft('2026-11-20T09:02:00Z'));
    expect(box.stats().collapsedHeartbeats).toBe(2);
    await box.close();
    box = await Outbox.open({ dir });
    expect(box.pendingHeartbeat()?.sentAt).toBe('2026-11-20T09:02:00.000Z');
    // Delivering an older one (sent before a newer one was queued) keeps the newer.
    await box.heartbeatDelivered('2026-11-20T09:01:00.000Z');
    expect(box.pendingHeartbeat()?.sentAt).toBe('2026-11-20T09:02:00.000Z');
    await box.heartbeatDelivered('2026-11-20T09:02:00.000Z');
    await box.close();
    box = await Outbox.open({ dir });
    expect(box.pendingHeartbeat()).toBeUndefined();
    await box.close();
  });

  it('counts alerts the server rejected and does not retry them', async () => {
    const dir = await tempDir();
    let box = await Outbox.open({ dir });
    await box.enqueueAlert(connectionAlert(1));
    await box.enqueueAlert(connectionAlert(2));
    await box.markRejected([connectionAlert(1).alertId, 'ffffffffffffffffffffffffffffffff']);
    await box.close();
    box = await Outbox.open({ dir });
    expect(box.stats()).toMatchObject({ pendingAlerts: 1, rejectedAlerts: 1 });
    await box.close();
  });

  it('recovers from a record torn by a crash: older records intact, the torn one dropped and reported', async () => {
    const dir = await tempDir();
    let box = await Outbox.open({ dir });
    for (let i = 0; i < 3; i++) await box.enqueueAlert(connectionAlert(i));
    await box.close();
    const file = path.join(dir, JOURNAL_FILE);
    const size = (await stat(file)).size;
    await truncate(file, size - 10); // the last append was cut short

    box = await Outbox.open({ dir });
    expect(box.nextAlerts(10).map((a) => a.alertId)).toEqual([0, 1].map((i) => connectionAlert(i).alertId));
    expect(box.stats().recoveredDamage).toMatchObject({ tornTail: true, regions: 1 });
    // The journal was rewritten clean: new records land after valid ones only.
    await box.enqueueAlert(connectionAlert(7));
    await box.close();
    box = await Outbox.open({ dir });
    expect(box.stats().recoveredDamage).toBeUndefined();
    expect(box.stats().pendingAlerts).toBe(3);
    await box.close();
  });

  it('skips garbage appended by something else, and records it does not understand', async () => {
    const dir = await tempDir();
    let box = await Outbox.open({ dir });
    await box.enqueueAlert(connectionAlert(1));
    await box.close();
    const file = path.join(dir, JOURNAL_FILE);
    await appendFile(file, Buffer.from('\u0000\u0000garbage VGO1 not a frame'));
    const { encodeFrame } = await import('../../../src/core/report/outbox-frame.js');
    await appendFile(file, encodeFrame(Buffer.from('{"t":"from-the-future","x":1}')));
    await appendFile(file, encodeFrame(Buffer.from('not json')));
    box = await Outbox.open({ dir });
    expect(box.stats()).toMatchObject({ pendingAlerts: 1, skippedRecords: 2 });
    expect(box.stats().recoveredDamage?.droppedBytes).toBe(26);
    await box.close();
  });

  it('compacts: the journal shrinks once most records are dead, and the state is unchanged', async () => {
    const dir = await tempDir();
    const box = await Outbox.open({ dir, compactMinBytes: 16 * 1024 });
    for (let i = 0; i < 60; i++) {
      await box.enqueueAlert(connectionAlert(i));
      if (i % 3 !== 0) await box.markDelivered([connectionAlert(i).alertId]);
      await box.setHeartbeat(draft(new Date(Date.UTC(2026, 10, 20, 9, 0, i)).toISOString()));
    }
    const file = path.join(dir, JOURNAL_FILE);
    const size = (await stat(file)).size;
    // 60 alerts and 60 heartbeats of ~1-4 KB each were written; compaction keeps ~20 + 1.
    expect(size).toBeLessThan(60 * 1024);
    expect(box.stats().journalBytes).toBe(size);
    await box.close();
    const again = await Outbox.open({ dir });
    expect(again.nextAlerts(100).map((a) => a.alertId)).toEqual(Array.from({ length: 20 }, (_, k) => connectionAlert(k * 3).alertId));
    expect(again.pendingHeartbeat()?.sentAt).toBe(new Date(Date.UTC(2026, 10, 20, 9, 0, 59)).toISOString());
    expect(await again.enqueueAlert(connectionAlert(1))).toBe('duplicate');
    await again.close();
  });

  it('concurrent enqueues (group-committed) all survive a reopen', async () => {
    const dir = await tempDir();
    const box = await Outbox.open({ dir });
    const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => box.enqueueAlert(connectionAlert(i))));
    expect(outcomes.every((o) => o === 'queued')).toBe(true);
    await box.close();
    const again = await Outbox.open({ dir });
    expect(again.stats().pendingAlerts).toBe(200);
    await again.close();
  });

  it.skipIf(!existsSync('/dev/full'))('keeps working in memory when the disk is full, and writes everything once it is not', async () => {
    const dir = await tempDir();
    const file = path.join(dir, JOURNAL_FILE);
    await symlink('/dev/full', file); // every write to the journal fails with ENOSPC
    const box = await Outbox.open({ dir });
    expect(await box.enqueueAlert(connectionAlert(1))).toBe('queued');
    expect(box.stats().durable).toBe(false);
    expect(box.stats().lastError).toMatch(/ENOSPC/);
    expect(box.nextAlerts(5)).toHaveLength(1);
    // The repair writes a new journal file (replacing the link), as when space is freed.
    expect(await box.enqueueAlert(connectionAlert(2))).toBe('queued');
    expect(box.stats().durable).toBe(true);
    await box.close();
    const again = await Outbox.open({ dir });
    expect(again.nextAlerts(5).map((a) => a.alertId)).toEqual([connectionAlert(1).alertId, connectionAlert(2).alertId]);
    await again.close();
  });

  it('runs in memory, without touching it, when the journal cannot be opened', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'not-a-dir'), 'x');
    const box = await Outbox.open({ dir: path.join(dir, 'not-a-dir') });
    expect(await box.enqueueAlert(connectionAlert(1))).toBe('queued');
    expect(box.stats()).toMatchObject({ durable: false, pendingAlerts: 1 });
    expect(box.stats().lastError).toMatch(/cannot open the outbox journal/);
    expect(await readFile(path.join(dir, 'not-a-dir'), 'utf8')).toBe('x');
    await box.close();
    await rm(dir, { recursive: true });
  });
});
