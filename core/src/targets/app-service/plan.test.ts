import { describe, expect, it } from 'vitest';
import { deployPlan, fxOfImage, imageFor, imageOfFx, percentOf, repositoryOf, revertPlan, shareOf, versionOfImage, withShare } from './plan.js';

describe('app-service target decisions', () => {
  it('reads and writes the image of a linuxFxVersion', () => {
    expect(imageOfFx('DOCKER|registry/web:1.0.0')).toBe('registry/web:1.0.0');
    expect(imageOfFx('docker|web:2')).toBe('web:2');
    expect(imageOfFx('NODE|20-lts')).toBe('');
    expect(imageOfFx(null)).toBe('');
    expect(fxOfImage('web:1')).toBe('DOCKER|web:1');
  });

  it('turns a version into an image as the kubernetes target does', () => {
    expect(imageFor('2.0.0', 'registry.local/web')).toBe('registry.local/web:2.0.0');
    expect(imageFor('sha256:abc', 'registry.local/web')).toBe('registry.local/web@sha256:abc');
    expect(imageFor('other/web:3', 'registry.local/web')).toBe('other/web:3');
    expect(versionOfImage('registry.local:5000/web:1.0.0')).toBe('1.0.0');
    expect(versionOfImage('registry.local:5000/web')).toBe('latest');
    expect(versionOfImage('web@sha256:abc')).toBe('sha256:abc');
    expect(repositoryOf('registry.local:5000/web:1.0.0')).toBe('registry.local:5000/web');
    expect(repositoryOf('web@sha256:abc')).toBe('web');
  });

  it('plans a deploy from what runs where', () => {
    expect(deployPlan({ production: 'web:2', slot: 'web:1' }, 'web:2')).toEqual({ action: 'none' });
    expect(deployPlan({ production: 'web:1', slot: 'web:2' }, 'web:2')).toEqual({ action: 'swap' });
    expect(deployPlan({ production: 'web:1', slot: 'web:0' }, 'web:2')).toEqual({ action: 'set-slot' });
  });

  it('plans a revert, refusing over an image rollgate did not swap in', () => {
    expect(revertPlan({ production: 'web:1', slot: 'web:2' }, 'web:1', ['web:2'])).toEqual({ action: 'none' });
    expect(revertPlan({ production: 'web:2', slot: 'web:1' }, 'web:1', ['web:2'])).toEqual({ action: 'swap-back' });
    expect(revertPlan({ production: 'web:2', slot: 'web:0' }, 'web:1', ['web:2'])).toEqual({ action: 'set-slot', image: 'web:1' });
    expect(revertPlan({ production: 'web:9', slot: 'web:1' }, 'web:1', ['web:2'])).toEqual({ action: 'refuse', live: 'web:9' });
  });

  it("sets rollgate's routing rule and keeps everyone else's", () => {
    const theirs = { name: 'beta', actionHostName: 'web-beta.azurewebsites.net', reroutePercentage: 5 };
    const rules = withShare([theirs], 'staging', 'web-staging.azurewebsites.net', 20);
    // Named after the slot, as the portal names the rule of its Traffic % column.
    expect(rules).toEqual([theirs, { name: 'staging', actionHostName: 'web-staging.azurewebsites.net', reroutePercentage: 20 }]);
    expect(shareOf(rules, 'staging')).toBe(20);
    expect(shareOf(rules, 'beta')).toBe(5);
    expect(withShare(rules, 'staging', 'web-staging.azurewebsites.net', 0)).toEqual([theirs]);
    expect(shareOf(undefined, 'staging')).toBe(0);
  });

  it('recognises the rule earlier releases named `rollgate`: read as the share, replaced or dropped', () => {
    const legacy = { name: 'rollgate', actionHostName: 'web-staging.azurewebsites.net', reroutePercentage: 30 };
    expect(shareOf([legacy], 'staging')).toBe(30);
    expect(withShare([legacy], 'staging', 'web-staging.azurewebsites.net', 10)).toEqual([{ name: 'staging', actionHostName: 'web-staging.azurewebsites.net', reroutePercentage: 10 }]);
    expect(withShare([legacy], 'staging', '', 0)).toEqual([]);
  });

  it('reads a replica split as a share of 100', () => {
    expect(percentOf({ stable: 75, candidate: 25 })).toBe(25);
    expect(percentOf({ stable: 0, candidate: 100 })).toBe(100);
    expect(percentOf({ stable: 0, candidate: 0 })).toBe(0);
  });
});
