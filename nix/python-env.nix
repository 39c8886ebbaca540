# The locked Python environment as a Nix derivation, for one system.
# `groups` picks which dependency groups of nix/targets.nix to include.
{ pkgs, targets, groups ? [ "airborne" "operator" "test" ] }:
let
  python = pkgs.python311;
  names = builtins.concatLists (map (g: targets.pythonPackages.${g}) groups);
in
python.withPackages (ps: map (name: ps.${name}) names)
