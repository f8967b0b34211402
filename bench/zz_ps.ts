import { Browser } from "../render/browser.ts";
await using b = await Browser.launch();
const p = await b.newPage();
await p.goto("data:text/html,hi");
for await (const e of Deno.readDir("/proc")) {
  if (!/^\d+$/.test(e.name)) continue;
  try {
    const stat = await Deno.readTextFile(`/proc/${e.name}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(f[2]) !== b.pid) continue;
    const cmd = (await Deno.readTextFile(`/proc/${e.name}/cmdline`)).replaceAll(
      "\0",
      " ",
    );
    console.log(
      e.name,
      "ppid",
      f[1],
      "pgrp",
      f[2],
      cmd.includes(b.profileDir!),
      cmd.slice(0, 110),
    );
  } catch { /* */ }
}
