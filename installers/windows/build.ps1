# Windows build: one-folder bundle, smoke test, per-user NSIS installer, size budget.
#
#   powershell -ExecutionPolicy Bypass -File installers\windows\build.ps1
#
# Needs: Python 3.11 on PATH (or -Python), Visual Studio 2022 C++ tools and CMake (to compile
# llama-cpp-python), NSIS 3 (makensis). Outputs: build\out\gptoss-desktop-<version>-windows-x64-setup.exe
# A CUDA build: -CudaArgs "-DGGML_CUDA=on" with the CUDA toolkit installed.
param(
    [string]$Python = "python",
    [int]$BundleMaxMiB = 230,
    [int]$InstallerMaxMiB = 90,
    [string]$CudaArgs = ""
)
$ErrorActionPreference = "Stop"
$Root = (Resolve-Path "$PSScriptRoot\..\..").Path
Set-Location $Root
$Version = (Select-String -Path gptoss_desktop\__init__.py -Pattern '__version__ = "(.*)"').Matches[0].Groups[1].Value
$Build = Join-Path $Root "build"
$Venv = Join-Path $Build "venv-dist"
$Wheels = Join-Path $Build "wheels-dist"
$Bundle = Join-Path $Build "dist\gptoss-desktop"
$Out = Join-Path $Build "out"
$Setup = Join-Path $Out "gptoss-desktop-$Version-windows-x64-setup.exe"

function Step($msg) { Write-Host "`n==> $msg" }
function Fail($msg) { Write-Error "build.ps1: $msg"; exit 1 }
function Invoke-Checked { param([string]$Exe, [string[]]$Arguments)
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { Fail "$Exe $($Arguments -join ' ') exited with $LASTEXITCODE" }
}
function SizeMiB($path) {
    if (Test-Path $path -PathType Leaf) { return (Get-Item $path).Length / 1MB }
    return ((Get-ChildItem $path -Recurse -File | Measure-Object Length -Sum).Sum) / 1MB
}

Step "distribution environment"
$Py = Join-Path $Venv "Scripts\python.exe"
if (-not (Test-Path $Py)) { Invoke-Checked $Python @("-m", "venv", $Venv) }
Invoke-Checked $Py @("-m", "pip", "install", "--quiet", "--upgrade", "pip", "wheel")
New-Item -ItemType Directory -Force $Wheels | Out-Null
$LlamaVersion = (Select-String -Path pyproject.toml -Pattern '"llama-cpp-python==([0-9.]+)"').Matches[0].Groups[1].Value
# Not tuned to this CPU; CPU-variant backend modules; llama.cpp's own thread pool instead of
# OpenMP (vcomp140.dll would have to be shipped beside the DLLs).
$env:CMAKE_ARGS = "-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DGGML_OPENMP=OFF $CudaArgs".Trim()
$Stamp = Join-Path $Wheels "cmake-args.txt"
$Wheel = Get-ChildItem $Wheels -Filter "llama_cpp_python-$LlamaVersion-*.whl" -ErrorAction SilentlyContinue | Select-Object -First 1
if ($Wheel -and ((Get-Content $Stamp -ErrorAction SilentlyContinue) -ne $env:CMAKE_ARGS)) { Remove-Item $Wheel.FullName; $Wheel = $null }
if (-not $Wheel) {
    Step "compiling llama-cpp-python $LlamaVersion with CMAKE_ARGS=$env:CMAKE_ARGS"
    Invoke-Checked $Py @("-m", "pip", "wheel", "--no-cache-dir", "--no-deps", "--no-binary", "llama-cpp-python", "-w", $Wheels, "llama-cpp-python==$LlamaVersion")
    Set-Content -Path $Stamp -Value $env:CMAKE_ARGS -NoNewline
    $Wheel = Get-ChildItem $Wheels -Filter "llama_cpp_python-$LlamaVersion-*.whl" | Select-Object -First 1
}
$Deps = & $Py -c "import tomllib; d = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; print('\n'.join(x for x in d if not x.startswith('llama-cpp-python')))"
Invoke-Checked $Py (@("-m", "pip", "install", "--quiet") + ($Deps -split "`n" | Where-Object { $_ }) + @("pyinstaller>=6.10,<7", $Wheel.FullName))
Invoke-Checked $Py @("-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps", $Wheel.FullName)

Step "PyInstaller bundle"
Remove-Item -Recurse -Force $Bundle, $Out -ErrorAction SilentlyContinue
New-Item -ItemType Directory -Force $Out | Out-Null
Invoke-Checked $Py @("-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath", "$Build\dist", "--workpath", "$Build\pyinstaller", "installers\gptoss-desktop.spec")
$Modules = Get-ChildItem "$Bundle\_internal\llama_cpp\lib" -Filter "ggml-*.dll" | Where-Object { $_.Name -ne "ggml-base.dll" }
if (-not $Modules) { Fail "no ggml backend modules in the bundle's llama_cpp\lib" }
Write-Host "ggml backend modules: $($Modules.Name -join ' ')"
$BundleMiB = SizeMiB $Bundle
Write-Host ("size: bundle {0:N1} MiB (budget {1} MiB)" -f $BundleMiB, $BundleMaxMiB)
if ($BundleMiB -gt $BundleMaxMiB) { Fail "bundle over budget" }

Step "smoke test"
foreach ($platform in @("windows", "offscreen")) {
    $env:QT_QPA_PLATFORM = $platform
    $env:GPTOSS_HOME = Join-Path $Build "smoke-home-$platform"
    $line = & "$Bundle\gptoss-desktop-cli.exe" --self-test 2>&1 | Out-String
    if ($LASTEXITCODE -ne 0 -or $line -notmatch "self-test OK") { Fail "self-test failed ($platform): $line" }
    Write-Host "self-test [$platform]: $($line.Trim())"
}
Remove-Item Env:QT_QPA_PLATFORM, Env:GPTOSS_HOME

Step "NSIS installer"
$MakeNsis = (Get-Command makensis -ErrorAction SilentlyContinue).Source
if (-not $MakeNsis) { $MakeNsis = "${env:ProgramFiles(x86)}\NSIS\makensis.exe" }
if (-not (Test-Path $MakeNsis)) { Fail "makensis not found: install NSIS 3 (choco install nsis)" }
Invoke-Checked $MakeNsis @("/V2", "/WX", "/DPAYLOAD=$Bundle", "/DAPP_VERSION=$Version", "/DOUTFILE=$Setup", "installers\windows\gptoss-desktop.nsi")
$SetupMiB = SizeMiB $Setup
Write-Host ("size: installer {0:N1} MiB (budget {1} MiB)" -f $SetupMiB, $InstallerMaxMiB)
if ($SetupMiB -gt $InstallerMaxMiB) { Fail "installer over budget" }

Step "installer smoke test (silent per-user install, self-test, silent uninstall)"
$Target = Join-Path $Build "smoke-install"
Remove-Item -Recurse -Force $Target -ErrorAction SilentlyContinue
$p = Start-Process -FilePath $Setup -ArgumentList "/S", "/D=$Target" -Wait -PassThru
if ($p.ExitCode -ne 0) { Fail "installer exited with $($p.ExitCode)" }
$env:GPTOSS_HOME = Join-Path $Build "smoke-home-installed"
$line = & "$Target\gptoss-desktop-cli.exe" --self-test 2>&1 | Out-String
if ($LASTEXITCODE -ne 0 -or $line -notmatch "self-test OK") { Fail "installed self-test failed: $line" }
Write-Host "self-test [installed]: $($line.Trim())"
$p = Start-Process -FilePath "$Target\Uninstall.exe" -ArgumentList "/S", "_?=$Target" -Wait -PassThru
if ($p.ExitCode -ne 0) { Fail "uninstaller exited with $($p.ExitCode)" }
if (Test-Path "$Target\gptoss-desktop.exe") { Fail "uninstaller left the program behind" }
Step "done: $Setup"
