import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Browser, chromiumArgs, chromiumPath } from "../render/browser.ts";
import { RenderPage } from "../render/render_page.ts";
import { decodeQr, examplePieces, readPng, tempDir } from "./_helpers.ts";

/** Chromium started by hand with a DevTools port, as a remote one would be. */
async function remoteChromium(profile: string) {
  const child = new Deno.Command(chromiumPath(), {
    args: [
      ...chromiumArgs(),
      "--headless=new",
      "--remote-debugging-port=0",
      `--user-data-dir=${profile}`,
      "about:blank",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/ws:\/\/\S+/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Chromium exited: ${text}`);
    text += value;
  }
  return {
    wsEndpoint: /ws:\/\/\S+/.exec(text)![0],
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await reader.cancel().catch(() => {});
      await child.status;
    },
  };
}

Deno.test("a browser reached by WebSocket renders through the intercepted origin, with the same pixels as a local one", async () => {
  const { spec, payloads } = await examplePieces();
  const payload = payloads[1]!;
  await using profile = await tempDir();
  await using remote = await remoteChromium(profile.path);
  await using connected = await Browser.launch({
    wsEndpoint: remote.wsEndpoint,
  });
  assert.equal(
    connected.origin,
    undefined,
    "a remote browser cannot reach our loopback",
  );
  await using local = await Browser.launch();
  assert.ok(local.origin);
  await using viaDevTools = await RenderPage.open(connected, spec);
  await using viaLoopback = await RenderPage.open(local, spec);
  const a = await viaDevTools.render(payload);
  const b = await viaLoopback.render(payload);
  assert.equal(await decodeQr(a.image.bytes), "https://example.com/r/1002");
  const pa = await readPng(a.image.bytes);
  const pb = await readPng(b.image.bytes);
  assert.ok(Buffer.compare(pa.data, pb.data) === 0);
});

Deno.test("the render page reaches nothing but its own origin", async (t) => {
  const { spec } = await examplePieces(undefined, 0);
  await using local = await Browser.launch();
  await using page = await RenderPage.open(local, spec);
  const probe = (url: string) =>
    page.page.evaluate(async (u) => {
      try {
        const r = await fetch(u);
        return `fetched ${r.status}`;
      } catch (error) {
        return `refused: ${(error as Error).message}`;
      }
    }, url);
  for (
    const url of [
      "http://example.com/",
      "https://1.1.1.1/",
      "http://169.254.169.254/latest/meta-data/",
      "http://127.0.0.1:9/",
    ]
  ) {
    await t.step(url, async () => {
      assert.match(await probe(url), /^refused/);
    });
  }
  for (
    const url of ["ws://example.com/", "ws://127.0.0.1:9/", "wss://1.1.1.1/"]
  ) {
    await t.step(url, async () => {
      const outcome = await page.page.evaluate(
        (u) =>
          new Promise<string>((resolve) => {
            try {
              const socket = new WebSocket(u);
              socket.onopen = () => resolve("open");
              socket.onerror = () => resolve("refused");
            } catch (error) {
              resolve(`refused: ${(error as Error).name}`);
            }
          }),
        url,
      );
      assert.match(outcome, /^refused/);
    });
  }
  await t.step("its own render script", async () => {
    assert.equal(await probe("/render.js"), "fetched 200");
  });
});
