import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { interpolateViridis } from "d3-scale-chromatic";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { colourDistance, type KnownPoint, readPng, rgb, writeKnownResult } from "./support.js";

/** Debian's chromium, which .ci/run installs; playwright-core drives it and downloads no browser. */
const CHROMIUM = "/usr/bin/chromium";

const TRACK: KnownPoint[] = Array.from({ length: 7 }, (_, i) => ({
  lat: 62 + i * 0.4,
  lon: -45 + i * 0.1,
  value: 1000 + (2000 * i) / 6,
}));

describe("plot --out map.html in a real browser", () => {
  let dir: string;
  let browser: Browser;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-plot-html-"));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("draws the points with no console error and no request, zooms and pans, and shows a point's value on hover", async () => {
    await writeKnownResult(join(dir, "track.parquet"), TRACK);
    const html = join(dir, "map.html");
    const run = await runCli([
      "plot",
      join(dir, "track.parquet"),
      "--polygon",
      "-50,60,-40,66",
      "--range",
      "1000,3000",
      "--out",
      html,
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);

    const page = await browser.newPage({ viewport: { width: 1100, height: 900 }, deviceScaleFactor: 1 });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(e.message));
    page.on("request", (r) => requests.push(r.url()));
    const url = pathToFileURL(html).href;
    await page.goto(url);
    expect(requests).toEqual([url]);

    const marks = await page.$$eval("#points circle", (cs) =>
      cs.map(
        (c) => [Number(c.getAttribute("cx")), Number(c.getAttribute("cy")), c.getAttribute("fill")] as const,
      ),
    );
    expect(marks).toHaveLength(7);
    const shot = readPng(await page.screenshot());
    marks.forEach(([x, y], i) => {
      const expected = rgb(interpolateViridis((TRACK[i]!.value - 1000) / 2000));
      expect(colourDistance(shot.at(x, y), expected), `mark ${i}`).toBeLessThanOrEqual(3);
    });

    // Hover the fourth point (h_li 2000 m).
    const [x3, y3] = marks[3]!;
    await page.mouse.move(x3, y3);
    await expect.poll(() => page.locator("#tip").isVisible()).toBe(true);
    const tip = await page.locator("#tip").textContent();
    expect(tip).toContain("h_li = 2000 m");
    expect(tip).toContain(`lat ${TRACK[3]!.lat}, lon ${TRACK[3]!.lon}`);
    await page.mouse.move(x3 + 40, y3 + 40);
    await expect.poll(() => page.locator("#tip").isHidden()).toBe(true);

    // Zoom in about the fourth point: it stays under the mouse, its neighbours move away.
    await page.mouse.move(x3, y3);
    await page.mouse.wheel(0, -400);
    await expect.poll(() => page.locator("#view").getAttribute("transform")).not.toBeNull();
    const zoomed = readPng(await page.screenshot());
    expect(colourDistance(zoomed.at(x3, y3), rgb(interpolateViridis(0.5)))).toBeLessThanOrEqual(3);
    const [x4, y4] = marks[4]!;
    expect(colourDistance(zoomed.at(x4, y4), rgb(interpolateViridis(4 / 6)))).toBeGreaterThan(10);
    expect(await page.locator("#tip").textContent()).toContain("h_li = 2000 m");

    // Drag pans by the mouse's travel.
    await page.mouse.down();
    await page.mouse.move(x3 + 30, y3 + 20, { steps: 4 });
    await page.mouse.up();
    const panned = readPng(await page.screenshot());
    expect(colourDistance(panned.at(x3 + 30, y3 + 20), rgb(interpolateViridis(0.5)))).toBeLessThanOrEqual(3);
    expect(problems).toEqual([]);
    await page.close();
  });
});
