import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../errors.js';
import { effectiveWeight, parseInfo, parseServersState, sameProcess } from './servers-state.js';

/* The Runtime API's answers as HAProxy 2.6 writes them (copied from a real one). */
const HEADER =
  '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port';

describe('HAProxy Runtime API answers', () => {
  it('reads each server’s weight and administrative state', () => {
    const answer = ['1', HEADER, '3 app 1 blue 127.0.0.1 2 0 100 100 1 1 0 2 0 0 0 0 - 18081 - 0 0 - - 0', '3 app 2 green 127.0.0.1 0 1 30 0 0 1 0 0 0 0 0 0 - 18082 - 0 0 - - 0', '3 app 3 cfg 127.0.0.1 0 4 1 1 0 1 0 0 0 0 0 0 - 18083 - 0 0 - - 0', '3 app 4 drn 127.0.0.1 2 8 5 5 0 1 0 0 0 0 0 0 - 18084 - 0 0 - - 0', '', ''].join('\n');
    const servers = parseServersState(answer, 'app', 's.sock');
    expect(Object.fromEntries(servers)).toEqual({
      blue: { weight: 100, admin: 'ready' },
      green: { weight: 30, admin: 'maint' },
      cfg: { weight: 1, admin: 'maint' },
      drn: { weight: 5, admin: 'drain' },
    });
    expect([...servers.values()].map(effectiveWeight)).toEqual([100, 0, 0, 0]);
  });

  it('says what HAProxy answered instead', () => {
    expect(() => parseServersState("Can't find backend.\n\n", 'web', 's.sock')).toThrow(
      new ProviderError('haproxy router: HAProxy at s.sock has no backend web; check `backend` against haproxy.cfg'),
    );
    expect(() => parseServersState('Unknown command.\nmore\n', 'web', 's.sock')).toThrow('unexpected answer from HAProxy at s.sock to `show servers state web`: Unknown command.');
    expect(() => parseServersState('', 'web', 's.sock')).toThrow('to `show servers state web`: nothing');
  });

  it('tells HAProxy processes apart by pid and start time', () => {
    const info = parseInfo('Name: HAProxy\nPid: 42\nUptime_sec: 7\nStart_time_sec: 1700000000\n', 's.sock', 0);
    expect(info).toEqual({ pid: 42, started: 1_700_000_000 });
    // Before Start_time_sec (HAProxy < 2.6): from the uptime.
    expect(parseInfo('Pid: 42\nUptime_sec: 7\n', 's.sock', 1_700_000_007_400)).toEqual({ pid: 42, started: 1_700_000_000 });
    expect(sameProcess(info, { pid: 42, started: 1_700_000_001 })).toBe(true);
    expect(sameProcess(info, { pid: 42, started: 1_700_000_009 })).toBe(false);
    expect(sameProcess(info, { pid: 43, started: 1_700_000_000 })).toBe(false);
    expect(() => parseInfo('Permission denied\n', 's.sock', 0)).toThrow('haproxy router: unexpected answer from HAProxy at s.sock to `show info`: Permission denied');
  });
});
