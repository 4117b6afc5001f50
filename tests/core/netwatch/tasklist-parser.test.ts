import { describe, expect, it } from 'vitest';
import { parseTasklistCsv, splitCsvRow } from '../../../src/core/netwatch/tasklist-parser.js';
import { parseWin32ProcessJson } from '../../../src/core/netwatch/win32-process-json.js';
import { fixture } from './fixtures.js';

describe('tasklist /fo csv /nh', () => {
  it('maps pid to image name, including quoted quotes and commas', () => {
    const { names, problems } = parseTasklistCsv(fixture('windows/tasklist-en-us.csv'));
    expect(problems).toEqual([]);
    expect(names.get(0)).toBe('System Idle Process');
    expect(names.get(7324)).toBe('3CXDesktopApp.exe');
    expect(names.get(8000)).toBe('Weird "quoted", name.exe');
    expect(names.size).toBe(6);
  });

  it('treats the localized "no tasks" message as no rows', () => {
    expect(parseTasklistCsv(fixture('windows/tasklist-de-de-filtered-empty.csv'))).toEqual({ names: new Map(), problems: [] });
  });

  it('skips truncated and invalid rows with a counted problem', () => {
    const { names, problems } = parseTasklistCsv(fixture('windows/tasklist-malformed.csv'));
    expect([...names.keys()]).toEqual([1104, 7324]);
    expect(problems).toEqual([expect.objectContaining({ code: 'parse', count: 3 })]);
  });

  it('splits CSV rows', () => {
    expect(splitCsvRow('"a","b ""c""",d')).toEqual(['a', 'b "c"', 'd']);
    expect(splitCsvRow('"a"x,"b"')).toBeNull();
    expect(splitCsvRow('"a')).toBeNull();
  });
});

describe('Win32_Process JSON', () => {
  it('reads an array with a null path', () => {
    const { rows, problems } = parseWin32ProcessJson(fixture('windows/win32-process.json'));
    expect(problems).toEqual([]);
    expect(rows).toEqual([
      { pid: 7324, name: '3CXDesktopApp.exe', path: 'C:\\Users\\alice\\AppData\\Local\\Programs\\3CXDesktopApp\\app\\3CXDesktopApp.exe' },
      { pid: 4, name: 'System' },
    ]);
  });

  it('reads a single object, and nothing for no output', () => {
    expect(parseWin32ProcessJson('\uFEFF{"ProcessId":12,"Name":"a.exe","ExecutablePath":"C:\\\\a.exe"}').rows).toEqual([{ pid: 12, name: 'a.exe', path: 'C:\\a.exe' }]);
    expect(parseWin32ProcessJson('  \r\n')).toEqual({ rows: [], problems: [] });
  });

  it('reports truncated and wrongly shaped JSON', () => {
    expect(parseWin32ProcessJson('[{"ProcessId":12,"Na').problems[0]).toMatchObject({ code: 'parse', message: expect.stringMatching(/not valid JSON/) });
    expect(parseWin32ProcessJson('{"ProcessId":"12"}').problems[0]).toMatchObject({ code: 'parse', message: expect.stringMatching(/unexpected shape/) });
  });
});
