{
  description = "gps_denied_onboard: vision-based drone navigation without GNSS (Jetson airborne + ground operator)";

  inputs = {
    # Pinned revisions; `nix flake lock` records their hashes in flake.lock on a
    # machine with network access.
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";
    jetpack-nixos = {
      url = "github:anduril/jetpack-nixos/master";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs = { self, nixpkgs, jetpack-nixos }:
    let
      targets = import ./nix/targets.nix;
      forAll = f: nixpkgs.lib.genAttrs targets.systems (system: f system nixpkgs.legacyPackages.${system});
      pythonEnvFor = pkgs: groups: import ./nix/python-env.nix { inherit pkgs targets groups; };

      # The airborne binary as Bazel lays it out, wrapped to run on the Nix Python.
      airborneFor = pkgs: pkgs.stdenvNoCC.mkDerivation {
        pname = "gdn-airborne";
        version = "0.1.0";
        src = ./python;
        installPhase = ''
          mkdir -p $out/lib $out/bin
          cp -r gps_denied_onboard airborne_entry.py $out/lib/
          # Operator-only components are not shipped (ADR-002).
          rm -rf $out/lib/gps_denied_onboard/components/{c10_provisioning,c11_tile_manager,c12_sim}
          rm -f $out/lib/gps_denied_onboard/runtime_root/operator*.py $out/lib/gps_denied_onboard/runtime_root/demo*.py
          cat > $out/bin/airborne <<EOS
          #!/bin/sh
          exec ${pythonEnvFor pkgs [ "airborne" ]}/bin/python3 $out/lib/airborne_entry.py "\$@"
          EOS
          chmod +x $out/bin/airborne
        '';
      };
    in
    {
      lib = { inherit targets; };

      packages = forAll (system: pkgs: {
        python-env = pythonEnvFor pkgs [ "airborne" "operator" "test" ];
        python-env-airborne = pythonEnvFor pkgs [ "airborne" ];
        airborne = airborneFor pkgs;
        default = airborneFor pkgs;
      });

      devShells = forAll (system: pkgs: {
        default = pkgs.mkShell {
          packages = [
            (pythonEnvFor pkgs [ "airborne" "operator" "test" ])
            pkgs.bazel_7
            pkgs.git
          ];
          shellHook = ''
            export GDN_PYTHON=${pythonEnvFor pkgs [ "airborne" "operator" "test" ]}/bin/python3
            echo "gps_denied_onboard dev shell: ./tools/bazel test //tests/..."
          '';
        };
      });

      nixosConfigurations.jetson-orin = nixpkgs.lib.nixosSystem {
        system = "aarch64-linux";
        modules = [
          jetpack-nixos.nixosModules.default
          (import ./nix/jetson-orin.nix {
            inherit targets;
            airborne = airborneFor nixpkgs.legacyPackages.aarch64-linux;
            pythonEnv = pythonEnvFor nixpkgs.legacyPackages.aarch64-linux [ "airborne" "gpu" ];
          })
          { system.stateVersion = "24.11"; }
        ];
      };

      checks = forAll (system: pkgs: {
        python-env = pythonEnvFor pkgs [ "airborne" "operator" "test" ];
        airborne = airborneFor pkgs;
        unit-tests = pkgs.runCommand "gdn-unit-tests" { } ''
          cd ${./.}
          PYTHONPATH=python ${pythonEnvFor pkgs [ "airborne" "operator" "test" ]}/bin/python3 \
            -m pytest -q -p no:cacheprovider -m "not slow and not tier2" tests/unit
          touch $out
        '';
      });
    };
}
