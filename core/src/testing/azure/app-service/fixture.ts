import { AppServiceDouble } from '../app-service.js';
import { type ArmFixture, armFixture, RESOURCE_GROUP } from '../base/fixture.js';

export interface AppServiceFixture extends ArmFixture {
  appService: AppServiceDouble;
  /** The image a slot runs now ('' for none). */
  image(slot?: string): string;
  /** rollgate's share of production's traffic (its routing rule), 0 without one. */
  share(): number;
  /** The double's time follows `clock` from now on (a resumed run on a clock of its own). */
  follow(clock: { now(): number }): void;
}

/**
 * The ARM double with App Service on a virtual clock: web app `web` in the fixture's resource
 * group with a `staging` slot, production and the slot running `production` and `staging` (''
 * for nothing deployed). Slots warm up in 20 s of the clock; images tagged `bad` never answer.
 */
export async function appServiceFixture(production = 'registry.local/web:1.0.0', staging = 'registry.local/web:0.9.0'): Promise<AppServiceFixture> {
  const arm = await armFixture();
  let time: { now(): number } = arm.clock;
  const appService = new AppServiceDouble(arm.server, { now: () => time.now() });
  await appService.addSite(RESOURCE_GROUP, 'web', production, { staging });
  return {
    ...arm,
    appService,
    image: (slot = 'production') => appService.world.image(RESOURCE_GROUP, 'web', slot),
    share: () => appService.world.site(RESOURCE_GROUP, 'web').rampUpRules.find((r) => r.name === 'staging')?.reroutePercentage ?? 0,
    follow: (clock) => {
      time = clock;
    },
    cleanup: async () => {
      await appService.stop();
      await arm.cleanup();
    },
  };
}

/** What serves traffic, as a contract suite observes it: production's image and state, and the routing rules. */
export function productionView(fixture: AppServiceFixture): unknown {
  const site = fixture.appService.world.site(RESOURCE_GROUP, 'web');
  const production = site.slots.get('production');
  return { image: production?.linuxFxVersion, state: production?.state, rules: site.rampUpRules };
}
