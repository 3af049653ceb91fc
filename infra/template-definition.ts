/**
 * Reads what `cdk deploy` would deploy back out of a synthesized CloudFormation template, so
 * tests can run exactly that: the state machine definitions and any other property, with the
 * template's intrinsic functions (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split)
 * resolved to physical names the caller chooses. No aws-cdk-lib here: plain template JSON in,
 * plain JSON out.
 */
type Json = unknown;

export interface TemplateResource {
  Type: string;
  Properties?: Record<string, Json>;
  Metadata?: Record<string, Json>;
}
export interface Template {
  Resources: Record<string, TemplateResource>;
}

/** The account and region tokens resolve to (a deployment's own, in a test). */
export const PSEUDO_PARAMETERS: Readonly<Record<string, string>> = {
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '123456789012',
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'stack',
  'AWS::NoValue': '',
};

/**
 * The physical value of `Ref` (attr undefined) or `Fn::GetAtt` of a resource. Return undefined
 * to use the defaults of `defaultPhysical`.
 */
export type PhysicalNames = (
  logicalId: string,
  attr: string | undefined,
  resource: TemplateResource,
) => string | undefined;

/** Names as a deployment in PSEUDO_PARAMETERS' account would give them, by resource type. */
export function defaultPhysical(logicalId: string, attr: string | undefined, resource: TemplateResource): string {
  const { 'AWS::Region': region, 'AWS::AccountId': account } = PSEUDO_PARAMETERS;
  switch (resource.Type) {
    case 'AWS::Lambda::Function':
      return attr === 'Arn' ? `arn:aws:lambda:${region}:${account}:function:${logicalId}` : logicalId;
    case 'AWS::StepFunctions::StateMachine':
      return attr === 'Name' ? logicalId : `arn:aws:states:${region}:${account}:stateMachine:${logicalId}`;
    case 'AWS::S3::Bucket': {
      const name = logicalId.toLowerCase();
      return attr === 'Arn' ? `arn:aws:s3:::${name}` : name;
    }
    case 'AWS::IAM::Role':
      return attr === 'Arn' ? `arn:aws:iam::${account}:role/${logicalId}` : logicalId;
    case 'AWS::Logs::LogGroup':
      return attr === 'Arn' ? `arn:aws:logs:${region}:${account}:log-group:${logicalId}:*` : logicalId;
    default:
      return attr ? `${logicalId}.${attr}` : logicalId;
  }
}

/** `value` with every intrinsic function resolved (strings and plain structures pass through). */
export function resolveTokens(value: Json, template: Template, physical?: PhysicalNames): Json {
  const name = (id: string, attr?: string): string => {
    if (attr === undefined && id in PSEUDO_PARAMETERS) return PSEUDO_PARAMETERS[id]!;
    const resource = template.Resources[id];
    if (!resource)
      throw new Error(`The template has no resource "${id}" (referenced by ${attr ? 'Fn::GetAtt' : 'Ref'})`);
    return physical?.(id, attr, resource) ?? defaultPhysical(id, attr, resource);
  };
  const walk = (x: Json): Json => {
    if (Array.isArray(x)) return x.map(walk);
    if (x === null || typeof x !== 'object') return x;
    const o = x as Record<string, Json>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const [k] = keys as [string];
      const arg = o[k];
      switch (k) {
        case 'Ref':
          return name(arg as string);
        case 'Fn::GetAtt': {
          const [id, attr] = typeof arg === 'string' ? (arg.split('.') as [string, string]) : (arg as [string, string]);
          return name(id, attr);
        }
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, Json[]];
          return (walk(parts) as Json[]).map(String).join(sep);
        }
        case 'Fn::Sub': {
          const [text, vars] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, Json>]);
          return text.replace(/\$\{([^}]+)\}/g, (_, ref: string) => {
            if (ref in vars) return String(walk(vars[ref]));
            const dot = ref.indexOf('.');
            return dot < 0 || ref.startsWith('AWS::') ? name(ref) : name(ref.slice(0, dot), ref.slice(dot + 1));
          });
        }
        case 'Fn::Select': {
          const [i, list] = arg as [number | string, Json];
          return (walk(list) as Json[])[Number(i)];
        }
        case 'Fn::Split': {
          const [sep, text] = arg as [string, Json];
          return String(walk(text)).split(sep);
        }
      }
    }
    return Object.fromEntries(keys.map((key) => [key, walk(o[key])]));
  };
  return walk(value);
}

/** The template's state machines by logical id. */
export function stateMachineIds(template: object): string[] {
  return Object.entries((template as Template).Resources)
    .filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')
    .map(([id]) => id);
}

/**
 * The definition of a state machine of the template (its only one unless `logicalId` names
 * it), with each function's `Fn::GetAtt [<function>, Arn]` replaced by `arnOf(logicalId)` and
 * every other token resolved as `physical` (or `defaultPhysical`) says.
 */
export function definitionFromTemplate(
  template: object,
  arnOf: (functionLogicalId: string) => string,
  options: { logicalId?: string; physical?: PhysicalNames } = {},
): object {
  const t = template as Template;
  const ids = stateMachineIds(t);
  const id = options.logicalId ?? (ids.length === 1 ? ids[0] : undefined);
  if (!id || !ids.includes(id))
    throw new Error(
      `Expected ${options.logicalId ? `a state machine "${options.logicalId}"` : 'one state machine'} in the template, found ${ids.join(', ') || 'none'}`,
    );
  const physical: PhysicalNames = (rid, attr, resource) =>
    resource.Type === 'AWS::Lambda::Function' && attr === 'Arn' ? arnOf(rid) : options.physical?.(rid, attr, resource);
  const body = resolveTokens(t.Resources[id]!.Properties!.DefinitionString, t, physical);
  return JSON.parse(body as string);
}

/** Each Lambda function's handler (`index.plan`, …), by logical id. */
export function functionHandlers(template: object): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, r] of Object.entries((template as Template).Resources))
    if (r.Type === 'AWS::Lambda::Function') out[id] = r.Properties?.Handler as string;
  return out;
}
