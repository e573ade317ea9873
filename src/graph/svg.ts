// DOT → SVG with Graphviz compiled to WebAssembly (@viz-js/viz): nothing to install. Imported
// lazily by the commands that draw, so the 1.4 MB module costs the other commands nothing.
type Viz = { renderString(src: string, options: { format: string }): string };
let viz: Promise<Viz> | undefined;

export async function renderSvg(dot: string): Promise<string> {
  viz ??= import('@viz-js/viz').then((m) => m.instance() as Promise<Viz>);
  return (await viz).renderString(dot, { format: 'svg' });
}
