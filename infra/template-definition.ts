/**
 * Reads the state machine back out of a synthesized CloudFormation template, so tests can run
 * exactly what `cdk deploy` would deploy. No aws-cdk-lib here: plain template JSON in, plain
 * ASL JSON out.
 */
type Json = unknown;
interface Template {
  Resources: Record<string, { Type: string; Properties?: Record<string, Json> }>;
}

/**
 * The definition of the template's one state machine, with each `Fn::GetAtt [<function>, Arn]`
 * replaced by `arnOf(logicalId)` and `Ref`s of pseudo parameters by fixed values.
 */
export function definitionFromTemplate(template: object, arnOf: (functionLogicalId: string) => string): object {
  const t = template as Template;
  const machines = Object.values(t.Resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`Expected one state machine in the template, found ${machines.length}`);
  const body = machines[0]!.Properties!.DefinitionString;
  return JSON.parse(resolve(body, t, arnOf));
}

function resolve(x: Json, t: Template, arnOf: (id: string) => string): string {
  if (typeof x === 'string') return x;
  const o = x as Record<string, Json>;
  if ('Fn::Join' in o) {
    const [sep, parts] = o['Fn::Join'] as [string, Json[]];
    return parts.map((p) => resolve(p, t, arnOf)).join(sep);
  }
  if ('Fn::GetAtt' in o) {
    const [id, attr] = o['Fn::GetAtt'] as [string, string];
    if (t.Resources[id]?.Type === 'AWS::Lambda::Function' && attr === 'Arn') return arnOf(id);
    return `${id}.${attr}`;
  }
  if ('Ref' in o) {
    const pseudo: Record<string, string> = {
      'AWS::Region': 'us-east-1',
      'AWS::AccountId': '123456789012',
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
    };
    return pseudo[o.Ref as string] ?? (o.Ref as string);
  }
  throw new Error(`Cannot resolve ${JSON.stringify(x)} in the state machine definition`);
}

/** Each Lambda function's handler (`index.plan`, …), by logical id. */
export function functionHandlers(template: object): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, r] of Object.entries((template as Template).Resources))
    if (r.Type === 'AWS::Lambda::Function') out[id] = r.Properties?.Handler as string;
  return out;
}
