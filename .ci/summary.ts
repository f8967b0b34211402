// Prints "N passed, N failed" from Deno's JUnit report, counting top-level
// tests (Deno lists steps as test cases named "test > step"; a test fails
// when it or any of its steps failed).
const xml = await Deno.readTextFile(Deno.args[0] ?? ".ci/junit.xml");
const failed = new Set<string>();
const tests = new Set<string>();
for (
  const m of xml.matchAll(
    /<testcase name="([^"]*)" classname="([^"]*)"[^>]*>([\s\S]*?)<\/testcase>/g,
  )
) {
  const top = `${m[2]}::${m[1]!.split(" &gt; ")[0]}`;
  tests.add(top);
  if (m[3]!.includes("<failure")) failed.add(top);
}
console.log(`${tests.size - failed.size} passed, ${failed.size} failed`);
