import { describe, expect, it } from 'vitest';
import { RecordedCommandRunner } from '../../../src/core/os/command-runner.js';
import { LSOF_ARGS, MacosLsofSource } from '../../../src/core/netwatch/macos-source.js';
import { NETSTAT_ARGS, tasklistArgs, win32ProcessArgs, WindowsNetstatSource } from '../../../src/core/netwatch/windows-source.js';
import { fixture } from './fixtures.js';

const key = RecordedCommandRunner.key;

describe('WindowsNetstatSource (recorded outputs)', () => {
  it('lists connections from netstat -nao alone, then names and paths only the ones asked about', async () => {
    const runner = new RecordedCommandRunner({
      [key('netstat', NETSTAT_ARGS)]: fixture('windows/netstat-nao-en-us.txt'),
      [key('tasklist', tasklistArgs(7324))]: '"3CXDesktopApp.exe","7324","Console","1","187,420 K"\r\n',
      [key('powershell.exe', win32ProcessArgs([7324]))]: fixture('windows/win32-process.json'),
    });
    const src = new WindowsNetstatSource({ runner });
    const snap = await src.snapshot();
    expect(runner.calls).toEqual(['netstat -nao']);
    const c2 = snap.connections.filter((c) => c.remote.address === '203.0.113.7' && c.pid);
    const a = await src.attribute(c2);
    expect(a.problems).toEqual([]);
    expect(a.connections).toEqual([
      expect.objectContaining({ pid: 7324, processName: '3CXDesktopApp.exe', processPath: 'C:\\Users\\alice\\AppData\\Local\\Programs\\3CXDesktopApp\\app\\3CXDesktopApp.exe' }),
    ]);
    expect(win32ProcessArgs([1, 2])[3]).toContain('-Filter "ProcessId=1 OR ProcessId=2"');
  });

  it('lists every process when several pids need names; reports tools that fail', async () => {
    const runner = new RecordedCommandRunner({
      [key('netstat', NETSTAT_ARGS)]: fixture('windows/netstat-nao-en-us.txt'),
      [key('tasklist', tasklistArgs())]: fixture('windows/tasklist-en-us.csv'),
    });
    const src = new WindowsNetstatSource({ runner });
    const snap = await src.snapshot({ attribute: 'all' });
    expect(snap.connections.find((c) => c.pid === 4220)?.processName).toBeUndefined(); // not in the tasklist recording
    expect(snap.connections.find((c) => c.pid === 1104)?.processName).toBe('svchost.exe');
    expect(snap.problems).toContainEqual({ code: 'command', message: 'powershell.exe could not run: ENOENT' });
    expect(snap.problems).toContainEqual(expect.objectContaining({ code: 'vanished' }));

    const dead = await new WindowsNetstatSource({ runner: new RecordedCommandRunner({}) }).snapshot();
    expect(dead).toEqual({ connections: [], problems: [{ code: 'command', message: 'netstat could not run: ENOENT' }] });
  });
});

describe('MacosLsofSource (recorded outputs)', () => {
  it('lists connections with pid and command from lsof, and paths from ps for the ones asked about', async () => {
    const runner = new RecordedCommandRunner({
      [key('lsof', LSOF_ARGS)]: fixture('macos/lsof-i-F-all-fields.txt'),
      [key('ps', ['-o', 'pid=,comm=', '-p', '7324'])]: fixture('macos/ps-pid-comm.txt'),
    });
    const src = new MacosLsofSource({ runner });
    const snap = await src.snapshot();
    expect(snap.connections).toHaveLength(8);
    const c2 = snap.connections.filter((c) => c.remote.address === '203.0.113.7');
    const a = await src.attribute(c2);
    expect(a.connections).toEqual([
      expect.objectContaining({ pid: 7324, processName: '3CX Desktop App', processPath: '/Applications/3CX Desktop App.app/Contents/MacOS/3CX Desktop App' }),
    ]);
    expect(a.problems).toEqual([expect.objectContaining({ code: 'parse' })]); // the junk line of the recording
  });

  it('treats lsof finding nothing as an empty snapshot, and a missing lsof as a problem', async () => {
    const empty = new RecordedCommandRunner({ [key('lsof', LSOF_ARGS)]: { code: 1, stdout: '', stderr: '' } });
    expect(await new MacosLsofSource({ runner: empty }).snapshot()).toEqual({ connections: [], problems: [] });
    expect((await new MacosLsofSource({ runner: new RecordedCommandRunner({}) }).snapshot()).problems[0]).toMatchObject({ code: 'command' });
  });
});
